"""DncMixin: the do-not-call lists of a campaign store, shared by all its campaigns.

A number (E.164) is suppressed while it is on any list: `hand` (added by a person), `opt-out`
(added by the engine when a callee asks not to be called again), or a list the user names for an
imported file or a synced query. Imports ADD to a list; a sync REPLACES the list's entries with
its source's numbers, in one transaction, and leaves every other list alone.

Mixed into CampaignHook: it uses the hook's connection (`self.db`, autocommit off) and its named
queries (`self._rows`, `self._changed`). Files and queries are read streaming and their numbers
COPYed into a temporary table, so 100k+ numbers import in seconds with flat memory.
This module imports no Airflow (the SQL source's hook is imported only when a sync reads one).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

from outcall_provider import sql
from outcall_provider.exceptions import OutcallError
from outcall_provider.hooks.lead_import import csv_records, in_workers
from outcall_provider.rules.phone import InvalidPhone, mask_phone, mask_phones_in_text, normalize_phone

DNC_LOCK = 4_242_010      # pg advisory lock id (with hashtext(list)): one import or sync of a list at a time
HAND_LIST = "hand"        # numbers a person added
OPT_OUT_LIST = "opt-out"  # numbers whose callee opted out on a call (written by the engine)
LIST_NAME = re.compile(r"[a-z0-9_-]{1,64}")
PHONE_COLUMN = "phone_number"
REJECTS_KEPT = 1_000      # rejected rows kept in a report (all are counted)
WORKERS = 2               # processes validating numbers of a large source


class DncError(OutcallError, ValueError):
    """A do-not-call request that cannot be done (a bad list name or number, a source without a
    `phone_number` column, a sync that would empty a list); names what is wrong, numbers masked."""

    def __init__(self, message: str):
        super().__init__(mask_phones_in_text(message))


@dataclass
class DncImportReport:
    """What an import (adds) or a sync (replaces) did to one list."""
    list: str
    source: str | None = None
    synced: bool = False       # a sync (replaces the list) rather than an import (adds)
    added: int = 0             # numbers new on the list
    removed: int = 0           # numbers that left the list (sync only)
    numbers: int = 0           # valid numbers the source gave (duplicates once)
    rejected_count: int = 0    # rows without a usable number
    # the first REJECTS_KEPT of them: {line, field, value (masked), reason}
    rejected: list[dict[str, Any]] = field(default_factory=list)
    list_size: int = 0         # numbers on the list afterwards
    # leads of every campaign of the store, not done yet, with a number (own or secondary) on the list
    suppressed_leads: int = 0

    def reject(self, line: int | None, value: str | None, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < REJECTS_KEPT:
            self.rejected.append({"line": line, "field": PHONE_COLUMN, "value": masked_value(value),
                                  "reason": mask_phones_in_text(reason)})


def check_list_name(name: str) -> str:
    if not isinstance(name, str) or not LIST_NAME.fullmatch(name):
        raise DncError(f"list name {name!r} is not allowed: use 1–64 of a-z, 0-9, _ and - "
                       f"(e.g. {HAND_LIST}, state_dnc, crm-optouts)")
    return name


def dnc_number(raw: str, default_region: str | None = None) -> str:
    """A number as the lists keep it (E.164), or DncError saying why not (masked)."""
    try:
        return normalize_phone(raw.strip() if isinstance(raw, str) else raw, default_region)
    except InvalidPhone as e:
        raise DncError(f"{masked_value(raw)!r} is not a phone number: {e.reason}") from None


def masked_value(value: str | None) -> str | None:
    """A value from outside as a report shows it: only its last 4 characters, at most 200 long."""
    if value is None:
        return None
    text = str(value).strip()[:200]
    return mask_phone(text.encode("utf-8", "backslashreplace").decode("utf-8"))


class DncMixin:
    """Do-not-call lists. Needs `db`, `_rows` and `_changed` of CampaignHook."""

    # -- one number ------------------------------------------------------------------------
    def dnc_add(self, numbers: list[str], list_name: str, source: str | None, now: datetime,
                default_region: str | None = None) -> int:
        """Put numbers on a list; entries already there are left untouched. Returns how many
        were new. Every number must be valid (E.164, or national with default_region): one bad
        number adds none (DncError names it)."""
        check_list_name(list_name)
        normalized = [dnc_number(n, default_region) for n in numbers]
        if not normalized:
            return 0
        return self._changed("dnc_add", {"numbers": normalized, "list": list_name, "source": source, "now": now})

    def dnc_remove(self, number: str, list_name: str | None = None) -> int:
        """Take a number off `list_name`, or off every list (None). Returns how many entries went."""
        return len(self.dnc_remove_lists(number, list_name))

    def dnc_remove_lists(self, number: str, list_name: str | None = None) -> list[str]:
        """As dnc_remove, returning the names of the lists the number left."""
        if list_name is not None:
            check_list_name(list_name)
        rows = self._rows("dnc_remove", {"phone_number": dnc_number(number), "list": list_name})
        return sorted(r["list"] for r in rows)

    def dnc_entries(self, number: str) -> list[dict[str, Any]]:
        """The lists one number is on: list, source, added_at (oldest first)."""
        return self._rows("dnc_entries", {"phone_number": dnc_number(number)})

    def is_suppressed(self, number: str) -> bool:
        return bool(self.dnc_entries(number))

    # -- the lists -------------------------------------------------------------------------
    def dnc_lists(self) -> list[dict[str, Any]]:
        """Every list: list, numbers, last_added_at."""
        return self._rows("dnc_lists", {})

    def dnc_version(self) -> int:
        return self._rows("dnc_version", {})[0]["version"]

    def dnc_suppressed_numbers(self) -> int:
        """Distinct numbers on any list."""
        return self._rows("dnc_numbers", {})[0]["count"]

    def dnc_suppressed_leads(self, list_name: str) -> int:
        """Leads of every campaign of the store, not done yet, whose own or a secondary number is
        on the list."""
        return self._rows("dnc_suppressed_leads", {"list": check_list_name(list_name)})[0]["count"]

    # -- files and sources -----------------------------------------------------------------
    def dnc_import_csv(self, path, list_name: str, now: datetime, default_region: str | None = None,
                       source: str | None = None) -> DncImportReport:
        """ADD the numbers of a CSV's `phone_number` column (other columns ignored) to a list.
        Bad rows are reported (line, field, masked value, reason); the good ones are kept."""

        check_list_name(list_name)
        source = source or str(path)
        try:
            header, records = csv_records(str(path), source)
        except OutcallError as e:  # LeadFileError: the header row cannot be read
            raise DncError(str(e)) from None
        values = _column_values(header, records, source)
        return self._dnc_merge(values, list_name, source, now, default_region, replace=False)

    def dnc_sync(self, records: Iterable, list_name: str, source: str | None, now: datetime,
                 default_region: str | None = None, allow_empty: bool = False) -> DncImportReport:
        """REPLACE a list's entries with the numbers of `records`, in one transaction: numbers no
        longer in the source leave the list, other lists are untouched; entries still in the
        source keep their added_at. `records`: (line, phone_number) pairs, or the numbers alone
        (numbered from 1). A source with no valid number does not empty a non-empty list unless
        `allow_empty` (a broken query must not lift every suppression at once)."""
        check_list_name(list_name)
        return self._dnc_merge(_numbered(records), list_name, source, now, default_region,
                               replace=True, allow_empty=allow_empty)

    def dnc_sync_sql(self, conn_id: str, sql_text: str, list_name: str, now: datetime,
                     default_region: str | None = None, allow_empty: bool = False) -> DncImportReport:
        """dnc_sync from a query on any SQL connection of Airflow: its `phone_number` column."""
        from outcall_provider.hooks.warehouse import WarehouseRows

        check_list_name(list_name)
        source = f"query on {conn_id}"
        with WarehouseRows(conn_id, sql_text, f"dnc list {list_name}") as rows:
            values = _column_values(rows.header, rows.records(), source)
            return self.dnc_sync(values, list_name, source, now, default_region, allow_empty)

    def _dnc_merge(self, values: Iterable[tuple[int | None, Any]], list_name: str, source: str | None,
                   now: datetime, default_region: str | None, replace: bool,
                   allow_empty: bool = False) -> DncImportReport:
        report = DncImportReport(list=list_name, source=source, synced=replace)
        params = {"list": list_name, "source": source, "now": now, "lock": DNC_LOCK}
        conn = self.db
        try:
            with conn.cursor() as cur:
                cur.execute(sql.query("dnc_lock"), params)  # held until this transaction ends
                cur.execute(sql.query("dnc_stage_create"))
                cur.execute("truncate outcall_dnc_stage")
                staged = 0
                with cur.copy("copy outcall_dnc_stage (phone_number) from stdin") as copy:
                    for text, n, rejects in _validated(values, default_region):
                        for line, value, reason in rejects:
                            report.reject(line, value, reason)
                        if n:
                            copy.write(text)
                            staged += n
                cur.execute("analyze outcall_dnc_stage")
                cur.execute("select count(distinct phone_number) from outcall_dnc_stage")
                report.numbers = cur.fetchone()[0]
                if replace:
                    if staged == 0 and not allow_empty:
                        cur.execute(sql.query("dnc_list_size"), params)
                        size = cur.fetchone()[0]
                        if size:
                            raise DncError(
                                f"{source or 'the source'} gave no valid phone number "
                                f"({report.rejected_count} rows rejected): list {list_name} keeps its "
                                f"{size} numbers (sync with allow_empty to empty it)")
                    cur.execute(sql.query("dnc_stage_drop_missing"), params)
                    report.removed = cur.rowcount
                cur.execute(sql.query("dnc_stage_merge"), params)
                report.added = cur.rowcount
                cur.execute(sql.query("dnc_list_size"), params)
                report.list_size = cur.fetchone()[0]
                cur.execute(sql.query("dnc_suppressed_leads"), params)
                report.suppressed_leads = cur.fetchone()[0]
            conn.commit()
        except BaseException:
            conn.rollback()  # nothing of this import or sync is kept
            raise
        return report


def validate_chunk(chunk: list[tuple[int | None, Any]], default_region: str | None
                   ) -> tuple[str, int, list[tuple[int | None, Any, str]]]:
    """COPY text of a chunk's valid numbers (E.164, one a line), how many, and its rejects as
    (line, value, reason). A value may be a _Problem: a record without a usable value. Runs in
    a worker process for large sources."""
    out: list[str] = []
    rejects: list[tuple[int | None, Any, str]] = []
    for line, value in chunk:
        if value.__class__ is _Problem:
            rejects.append((line, value.value, value.reason))
            continue
        try:
            out.append(normalize_phone(value, default_region) + "\n")  # E.164: nothing to escape
        except InvalidPhone as e:
            rejects.append((line, value, e.reason))
    return "".join(out), len(out), rejects


def _validated(values: Iterable[tuple[int | None, Any]], default_region: str | None):
    """validate_chunk of each chunk, in order; in worker processes once a source is large."""
    workers = min(WORKERS, os.cpu_count() or 1)
    for _, result in in_workers(validate_chunk, values, default_region, workers=workers):
        yield result


@dataclass(frozen=True)
class _Problem:
    """A record without a usable phone_number value (picklable, unlike InvalidPhone)."""
    value: str | None
    reason: str


def _numbered(records: Iterable) -> Iterator[tuple[int | None, Any]]:
    for n, rec in enumerate(records, start=1):
        if isinstance(rec, tuple) and len(rec) == 2:
            yield rec
        else:
            yield n, rec


def _column_values(header: list[str] | None, records: Iterable, source: str) -> Iterator[tuple[int, Any]]:
    """(line, phone_number value) of each record; a record without a usable value comes as
    (line, _Problem(raw, reason))."""
    if not header:
        raise DncError(f"{source}: the source is empty: a header row with a `{PHONE_COLUMN}` column is required")
    names = [str(h).strip().lower() for h in header]
    if PHONE_COLUMN not in names:
        shown = ", ".join(str(h) for h in header)[:300]
        raise DncError(f"{source}: the required column `{PHONE_COLUMN}` is missing (columns found: {shown})")
    pos = names.index(PHONE_COLUMN)
    return _values_at(records, pos)


def _values_at(records: Iterable, pos: int) -> Iterator[tuple[int, Any]]:
    for line, row in records:
        if not isinstance(row, (list, tuple)):  # RowProblem: a record the CSV reader could not take
            yield line, _Problem(getattr(row, "value", None), getattr(row, "reason", "cannot be read"))
        elif pos >= len(row) or row[pos] is None:
            yield line, _Problem(None, f"the row has no `{PHONE_COLUMN}` value")
        else:
            value = row[pos] if isinstance(row[pos], str) else str(row[pos])
            yield line, value
