"""Streaming lead import: rows → validated COPY into a staging table → set-based upsert.

Validation (phone parsing) is the costly part, so rows are validated in worker processes
while PostgreSQL merges the previous block; memory stays flat whatever the file size.
Imports into one campaign are serialized (a per-campaign advisory lock held by the merge
transaction), so the tick's sync, an upload and a CLI import never race on the same leads.
This module imports no Airflow so that worker processes start light.
"""
from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import queue
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Iterable, Iterator

from outcall_provider import sql
from outcall_provider.rules.compliance import stored_hours
from outcall_provider.rules.leads import (
    LeadColumns,
    LeadFileError,
    NoCommonHourCheck,
    RowProblem,
    parse_row,
    read_header,
    text_row,
)
from outcall_provider.rules.phone import mask_phones_in_text
from outcall_provider.rules.state_rules import StateRules
from outcall_provider.rules.twilio_errors import NUMBER_ERROR_CODES
from outcall_provider.rules.twiml import TwimlBudget, twiml_budget

CHUNK_ROWS = 5_000          # rows per worker task
BLOCK_ROWS = 100_000        # rows per COPY + merge round trip
PARALLEL_MIN_ROWS = 20_000  # below this, worker start-up costs more than it saves
IMPORT_LOCK = 4_242_003     # pg advisory lock id (with the campaign id): one import per campaign at a time
SHOWN_CHARS = 200           # of a rejected value, kept to help find the row
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Values PostgreSQL cannot store: NUL (text) and its JSON escape (jsonb); lone surrogates are
# caught by encoding the chunk.
_NUL, _JSON_NUL = "\x00", "\\u0000"


@dataclass
class ImportReport:
    report_id: int
    source: str
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    error: str | None = None
    # Rows that name a lead already in the campaign, when existing leads must not be updated.
    conflicts: list[dict] = field(default_factory=list)


def _text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPE)


def shown(value) -> str | None:
    """A rejected value as stored and shown: valid text, no full phone number, short."""
    if value is None:
        return None
    text = value if value.__class__ is str else str(value)
    try:
        text[:1000].encode("utf-8")
        text = text[:1000]
    except UnicodeEncodeError:  # bytes the reader could not decode, shown as \\xNN
        text = text[:1000].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = mask_phones_in_text(text.replace(_NUL, "\\x00"))
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _encode(rows: list, cols: LeadColumns, default_region: str | None, twiml: TwimlBudget | None = None,
            no_common_hour: NoCommonHourCheck | None = None) -> str:
    return encode_chunk(cols, rows, default_region, twiml=twiml, no_common_hour=no_common_hour)


def encode_chunk(cols: LeadColumns, rows: list, default_region: str | None, checked: bool = False,
                 twiml: TwimlBudget | None = None, no_common_hour: NoCommonHourCheck | None = None) -> str:
    """Validate rows and encode them as COPY text for outcall_stage (runs in a worker).
    A row may be a RowProblem: a record the CSV reader could not take."""
    out: list[str] = []
    for line, row in rows:
        if row.__class__ is RowProblem:
            lead, problems = None, (row,)
        else:
            lead, problems = parse_row(cols, row, line, default_region, twiml, no_common_hour)
        if lead is not None:
            clock = lead.clock
            consent = lead.consent_at.isoformat() if lead.consent_at else None
            out.append(f"{line}\tL\t{_text(lead.external_id)}\t{lead.phone_number}\t"
                       f"{{{','.join(lead.secondaries)}}}\t"
                       f"{_text(json.dumps(lead.variables, ensure_ascii=False, allow_nan=False))}\t\\N\t\\N\t\\N\t"
                       f"{' '.join(clock.zones)}\t{' '.join(clock.states)}\t{_text(clock.source)}\t{_text(consent)}\n")
        out.extend(_problem_text(p) for p in problems)
    text = "".join(out)
    if checked:
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _reject_unstorable(cols, rows, default_region, twiml, no_common_hour)
    if _NUL in text or _JSON_NUL in text:
        return _reject_unstorable(cols, rows, default_region, twiml, no_common_hour)
    return text


def _problem_text(p: RowProblem) -> str:
    kind = "R" if p.skipped_row else "W"
    return (f"{p.line}\t{kind}\t\\N\t\\N\t\\N\t\\N\t{_text(p.field)}\t"
            f"{_text(shown(p.value))}\t{_text(mask_phones_in_text(p.reason))}\t\\N\t\\N\t\\N\t\\N\n")


def _unstorable(row) -> str | None:
    for value in row:
        if value.__class__ is not str:
            continue
        if _NUL in value:
            return "contains a NUL byte"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains bytes that are not UTF-8 (save the file as UTF-8)"
    return None


def _reject_unstorable(cols, rows, default_region, twiml, no_common_hour) -> str:
    """Slow path for a chunk holding a NUL byte or bytes that are not UTF-8: reject just those rows."""
    good, out = [], []
    for line, row in rows:
        reason = None if row.__class__ is RowProblem else _unstorable(row)
        if reason is None:
            good.append((line, row))
        else:
            raw = ",".join(v if v.__class__ is str else str(v) for v in row)
            out.append(f"{line}\tR\t\\N\t\\N\t\\N\t\\N\t\\N\t{_text(shown(raw))}\t{_text(reason)}"
                       "\t\\N\t\\N\t\\N\t\\N\n")
    return encode_chunk(cols, good, default_region, checked=True, twiml=twiml,
                        no_common_hour=no_common_hour) + "".join(out)


def csv_records(path: str, source: str | None = None) -> tuple[list[str] | None, Iterator[tuple[int, list]]]:
    """The header and (first line number, fields) of each record; quoted newlines span lines.
    A record the reader cannot take comes as (line, RowProblem). A header the reader cannot take
    is a LeadFileError."""
    f = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    read = _read_records(f)
    try:
        first = next(read, None)
    except BaseException:
        f.close()
        raise
    if first is not None and first[1].__class__ is RowProblem:
        f.close()
        raise LeadFileError(source or str(path), [f"line 1 (the header row): {first[1].reason}"])

    def records():
        with f:
            yield from read
    return (first[1] if first else None), records()


def _read_records(f) -> Iterator[tuple[int, list | RowProblem]]:
    """Records of a CSV file with the line each starts on (the first even when blank, then only
    non-blank ones). A record the reader cannot take (a field over csv.field_size_limit(), a quote
    that never closes or is closed by a stray quote further down) becomes a RowProblem for its
    first line, and reading goes on at the line after it: a stray quote costs one row, never the
    rows after it, each of which is then taken or rejected on its own."""
    again: deque[str] = deque()  # lines to read again before the rest of the file
    taken: list[str] = []        # physical lines of the record being read
    ended = False                # the reader asked for a line past the end of the file

    def lines():
        nonlocal ended
        while again:
            taken.append(text := again.popleft())
            yield text
        for text in f:
            taken.append(text)
            yield text
        ended = True

    line = 0  # physical lines consumed
    while True:
        reader, ended = csv.reader(lines()), False
        try:
            for row in reader:
                start = line + 1
                if len(taken) > 1 or ended:
                    reason = _quote_problem(taken, start)
                    if reason is not None:
                        break
                line += len(taken)
                taken.clear()
                if row or start == 1:
                    yield start, row
            else:
                return
        except csv.Error as e:  # in practice: a field over the limit, or a quote that runs past it
            start, limit = line + 1, csv.field_size_limit()
            if "field limit" not in str(e):
                reason = f"cannot be read as CSV ({e})"
            elif len(taken) > 1:
                reason = (f"a quoted field that starts on this line does not close within {limit} characters; "
                          "the lines after it were read as rows of their own")
            else:
                reason = f"has a field longer than {limit} characters (the CSV reader's limit)"
        yield start, RowProblem(start, None, taken[0][:1000] if taken else None, reason)
        again.extendleft(reversed(taken[1:]))
        line = start
        taken.clear()


def _quote_problem(lines: list[str], start: int) -> str | None:
    """Why a record spanning lines (or running into the end of the file) is a quote gone wrong,
    or None for a well-formed quoted field with line breaks."""
    try:
        for _ in csv.reader(lines, strict=True):
            pass
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            return ("a quoted field that starts on this line never closes (it runs to the end of the file); "
                    "the lines after it were read as rows of their own")
        return (f"a quoted field that starts on this line is not closed properly before line "
                f"{start + len(lines) - 1} ({e}); the lines after it were read as rows of their own "
                '(inside a quoted field, write a quote as "")')
    return None


def _chunks(records: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def in_workers(func, records: Iterable, *args, workers: int) -> Iterator[tuple[int, Any]]:
    """(row count, func(chunk, *args)) per chunk of CHUNK_ROWS records, in order. Validation
    (phone parsing) is the costly part, so large sources run it in `workers` processes with a
    bounded read-ahead (memory stays flat); small ones stay in-process, where worker start-up
    would cost more than it saves. `func` must be picklable (a module-level function)."""
    chunks = _chunks(records, CHUNK_ROWS)
    first = []
    for chunk in chunks:  # peek: small sources stay in-process
        first.append(chunk)
        if len(first) * CHUNK_ROWS >= PARALLEL_MIN_ROWS:
            break
    if workers <= 1 or len(first) * CHUNK_ROWS < PARALLEL_MIN_ROWS:
        for chunk in itertools.chain(first, chunks):
            yield len(chunk), func(chunk, *args)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pending: deque = deque()
        for chunk in itertools.chain(first, chunks):
            pending.append((len(chunk), pool.submit(func, chunk, *args)))
            if len(pending) >= workers * 8:
                n, fut = pending.popleft()
                yield n, fut.result()
        while pending:
            n, fut = pending.popleft()
            yield n, fut.result()


def import_records(conn, campaign_id: int, source: str, header: list[str] | None,
                   records: Iterable[tuple[int, list]], default_region: str | None,
                   now, workers: int | None = None, update_existing: bool = True) -> ImportReport:
    """Import records of any values (a database's rows, a lead added by hand) as text fields.
    A lead already in the campaign (same external_id, else same phone) is updated, or with
    update_existing=False left alone and its row rejected (report.conflicts)."""
    texts = ((line, text_row(row)) for line, row in records)
    return _import(conn, campaign_id, source, header, texts, default_region, now, workers, update_existing)


def _import(conn, campaign_id: int, source: str, header: list[str] | LeadFileError | None,
            records: Iterable[tuple[int, list]], default_region: str | None,
            now, workers: int | None, update_existing: bool) -> ImportReport:
    """Import one source into a campaign in one transaction; the report is kept in the store."""
    with conn.cursor() as cur:
        cur.execute(sql.query("import_report_start"), {"campaign_id": campaign_id, "source": source, "now": now})
        report = ImportReport(report_id=cur.fetchone()[0], source=source)
    conn.commit()
    try:
        if isinstance(header, LeadFileError):
            raise header
        if header is None:
            raise LeadFileError(source, ["the file is empty: a header row with a `phone_number` column is required"])
        cols = read_header(header, source)
    except LeadFileError as e:
        e.report = report
        _finish(conn, report, now, str(e))
        raise
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    params = {"campaign_id": campaign_id, "report_id": report.report_id, "now": now,
              "update_existing": update_existing, "lock": IMPORT_LOCK,
              # a re-import keeps only invalid marks that name a number-specific Twilio code
              "number_error_codes": sorted(str(c) for c in NUMBER_ERROR_CODES)}
    try:
        with conn.cursor() as cur:
            cur.execute(sql.query("import_lock"), params)  # held until this transaction ends
            cur.execute(sql.query("import_campaign_call"), params)
            found = cur.fetchone()
            twiml = twiml_budget(found[1], found[0]) if found else None
            # the campaign's callee hours: a lead whose numbers share none is kept with a warning
            # (its own state_rules file is read where the campaign file is: preview and the dialer)
            cur.execute(sql.query("import_campaign_hours"), params)
            found = cur.fetchone()
            no_common_hour = NoCommonHourCheck(stored_hours(found[0] if found else None),
                                               StateRules.shipped(), now)
            cur.execute(sql.query("import_stage_create"))
            merger = _BlockMerger(cur, params, report)
            try:
                # the header's refused columns first: the rows after them are imported without them
                pending_rows, block = 0, [_problem_text(p) for p in cols.dropped]
                for n, text in in_workers(_encode, records, cols, default_region, twiml, no_common_hour,
                                          workers=workers):
                    block.append(text)
                    pending_rows += n
                    if pending_rows >= BLOCK_ROWS:
                        merger.put(block)
                        pending_rows, block = 0, []
                merger.put(block)
            finally:
                merger.close()
            cur.execute(sql.query("import_report_finish"), {**vars(report), "now": now})
        conn.commit()
    except BaseException as e:
        with contextlib.suppress(Exception):  # the import's own error is the one to raise
            conn.rollback()  # nothing of this import is kept; the report says why
            report.imported = report.updated = report.rejected = report.warnings = 0
            _finish(conn, report, now, mask_phones_in_text(f"the import failed and changed nothing: {e}"))
        raise
    return report


def _finish(conn, report: ImportReport, now, error: str) -> None:
    report.error = error
    with conn.cursor() as cur:
        cur.execute(sql.query("import_report_finish"), {**vars(report), "now": now})
    conn.commit()


class _BlockMerger:
    """Merges blocks on a thread of its own, so files keep being read and validated while
    PostgreSQL works (psycopg releases the GIL while it waits for the server)."""

    def __init__(self, cur, params: dict, report: ImportReport):
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(cur, params, report), daemon=True)
        self._thread.start()

    def _run(self, cur, params, report) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None:
                try:
                    _merge_block(cur, block, params, report)
                except BaseException as e:  # re-raised in the caller's thread
                    self._error = e

    def put(self, block: list[str]) -> None:
        if self._error is not None:
            raise self._error
        if block:
            self._queue.put(block)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _merge_block(cur, block: list[str], params: dict, report: ImportReport) -> None:
    if not block:
        return
    with cur.copy("copy outcall_stage from stdin") as copy:
        for text in block:
            copy.write(text)
    cur.execute(sql.query("import_merge_resolve"), params)
    cur.execute(sql.query("import_merge_rejects"), params)
    _reject_not_taken(cur, params, report)
    cur.execute(sql.query("import_merge_clocks"), params)
    cur.execute(sql.query("import_merge_update"), params)
    report.updated += cur.rowcount
    cur.execute(sql.query("import_merge_insert"), params)
    report.imported += cur.rowcount
    cur.execute(sql.query("import_merge_contacts"), params)
    cur.execute("select count(*) filter (where skipped_row), count(*) filter (where not skipped_row) "
                "from outcall_import_rejects where report_id = %(report_id)s", params)
    report.rejected, report.warnings = cur.fetchone()
    cur.execute("truncate outcall_stage; drop table outcall_resolved")


def _reject_not_taken(cur, params: dict, report: ImportReport) -> None:
    """Store the valid rows that cannot be taken (duplicates, a phone of another lead, a lead
    that exists when it must not be updated) with their values masked."""
    cur.execute(sql.query("import_merge_not_taken"), params)
    rows = cur.fetchall()
    if not rows:
        return
    with cur.copy("copy outcall_import_rejects (report_id, line, field, value, reason, skipped_row) "
                  "from stdin") as copy:
        for line, field_, value, reason, *_ in rows:
            copy.write_row((params["report_id"], line, field_, shown(value), mask_phones_in_text(reason), True))
    if not params["update_existing"]:
        report.conflicts += [{"line": line, "field": field_, "value": shown(value),
                              "reason": mask_phones_in_text(reason), "lead_id": lead_id}
                             for line, field_, value, reason, lead_id in rows if lead_id is not None]


def import_csv(conn, campaign_id: int, path: str, default_region: str | None, now,
               workers: int | None = None, source: str | None = None,
               update_existing: bool = True) -> ImportReport:
    source = source or str(path)
    try:
        header, records = csv_records(path, source)
    except LeadFileError as e:  # kept in the store like any file-level problem
        header, records = e, iter(())
    return _import(conn, campaign_id, source, header, records, default_region, now, workers, update_existing)
