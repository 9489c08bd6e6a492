"""The results a campaign writes back to the warehouse and exports as a file: the columns of
the two tables, whether an existing table can take them, rows shaped for them, and the file
formats. Pure: the hook reads and writes, this decides.

`<schema.table>` holds one row per lead (its current state); `<schema.table>_attempts` one row
per judged attempt. README ("Results back to the warehouse") documents the columns.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator

from outcall_provider.exceptions import ResultsTableError
from outcall_provider.rules.states import LEAD_STATUSES

# Type families and the information_schema data types (lowercased) each accepts, across the
# common SQL databases: a table created by hand only needs types that hold the values.
_TEXT = frozenset({"text", "character varying", "varchar", "character", "char", "string", "nvarchar", "nchar",
                   "clob", "ntext", "longtext", "mediumtext"})
_INTEGER = frozenset({"integer", "bigint", "smallint", "int", "number", "numeric", "decimal", "int64"})
_FAMILIES: dict[str, frozenset[str]] = {
    "text": _TEXT,
    "integer": _INTEGER,
    "numeric": _INTEGER | {"double precision", "real", "float", "float64", "money"},
    "boolean": frozenset({"boolean", "bool", "bit"}),
    "timestamp": frozenset({"timestamp with time zone", "timestamp without time zone", "timestamp", "datetime",
                            "datetime2", "datetimeoffset", "timestamp_tz", "timestamp_ntz", "timestamp_ltz"}),
    "json": _TEXT | {"jsonb", "json", "variant", "object", "super"},
}


@dataclass(frozen=True)
class Column:
    name: str
    family: str            # a key of _FAMILIES
    doc: str


LEAD_COLUMNS = (
    Column("campaign", "text", "campaign name"),
    Column("lead_id", "integer", "outcall's lead id; with campaign, the row's key"),
    Column("external_id", "text", "the lead's external_id from its source, if any"),
    Column("phone_number", "text", "primary phone, E.164, in full"),
    Column("status", "text", f"lead status ({', '.join(LEAD_STATUSES)})"),
    Column("attempts", "integer", "calls placed to the lead so far"),
    Column("last_outcome", "text", "why its last call was judged as it was"),
    Column("goal_met", "boolean", "the goal variable was true"),
    Column("variables", "json", "post-call variables of the last judged call"),
    Column("updated_at", "timestamp", "when the lead last changed in outcall"),
)
ATTEMPT_COLUMNS = (
    Column("campaign", "text", "campaign name"),
    Column("attempt_id", "integer", "outcall's attempt id; with campaign, the row's key"),
    Column("call_sid", "text", "Twilio call SID (empty when Twilio refused the call)"),
    Column("lead_id", "integer", "the lead called"),
    Column("external_id", "text", "the lead's external_id"),
    Column("to_number", "text", "number dialed, E.164, in full"),
    Column("started_at", "timestamp", "when the attempt was written, just before dialing"),
    Column("ended_at", "timestamp", "when the call ended"),
    Column("call_status", "text", "Twilio's final call status"),
    Column("answered_by", "text", "human, machine_*, fax or unknown"),
    Column("duration_s", "integer", "call duration in seconds"),
    Column("price", "numeric", "Twilio's price (negative: a cost), once Twilio shows it"),
    Column("price_unit", "text", "price currency"),
    Column("outcome", "text", "why the attempt was judged as it was"),
    Column("goal_met", "boolean", "the goal variable was true on this call"),
    Column("variables", "json", "post-call variables of this call"),
    Column("transcript", "text", "the call's transcript, when the assistant sent one"),
    Column("recording_url", "text", "the call's recording, when there is one"),
    Column("judged_at", "timestamp", "when outcall judged the call"),
    Column("audit", "json", "what allowed the call: callee local times, rules checked, caller ID"),
)
# Columns added after tables were first created: an existing table without them gets them.
ADDED_COLUMNS = {"audit": "jsonb"}
LEAD_KEY = ("campaign", "lead_id")
ATTEMPT_KEY = ("campaign", "attempt_id")
FORMATS = ("csv", "jsonl")
ROW_KINDS = ("leads", "attempts")


def column_problems(table: str, expected: tuple[Column, ...], found: dict[str, str]) -> list[str]:
    """What keeps an existing table (`found`: column name → data type, lowercased) from taking
    the rows: each missing column, and each column whose type cannot hold its values."""
    problems = []
    for col in expected:
        have = found.get(col.name)
        if have is None:
            problems.append(f"{table}.{col.name} is missing ({col.family}: {col.doc})")
        elif have not in _FAMILIES[col.family]:
            problems.append(f"{table}.{col.name} is {have}; allowed {col.family} types: "
                            f"{', '.join(sorted(_FAMILIES[col.family]))}")
    return problems


def check_table(table: str, expected: tuple[Column, ...], found: dict[str, str]) -> None:
    problems = column_problems(table, expected, found)
    if problems:
        raise ResultsTableError(f"results table {table} has incompatible columns: " + "; ".join(problems)
                                + ". Fix or drop the table (outcall creates it when missing), or name another "
                                  "in the campaign file's results.table")


def row_values(campaign: str, row: dict[str, Any], columns: tuple[Column, ...]) -> tuple:
    """A store row as the table's values, in column order."""
    return tuple(campaign if c.name == "campaign" else row.get(c.name) for c in columns)


@dataclass(frozen=True)
class ExportCounts:
    """What one tick's export wrote (or, with no results table, found changed)."""
    leads: int = 0
    attempts: int = 0
    leads_by_status: dict[str, int] | None = None

    def __bool__(self) -> bool:
        return bool(self.leads or self.attempts)

    def event_extra(self, campaign: str, table: str | None) -> dict[str, Any]:
        """The extra of the campaign's results asset event."""
        return {"campaign": campaign, "table": table, "leads_changed": self.leads,
                "calls_changed": self.attempts, "leads_by_status": dict(self.leads_by_status or {})}


def status_counts(rows: Iterable[dict[str, Any]]) -> Counter:
    return Counter(r["status"] for r in rows)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def file_lines(rows: Iterable[dict[str, Any]], columns: tuple[Column, ...], fmt: str,
               campaign: str) -> Iterator[str]:
    """The rows as a file, line by line: CSV with a header (JSON values as JSON text), or
    JSON Lines (one object per row). Same columns as the tables."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not allowed; allowed {', '.join(FORMATS)}")
    names = [c.name for c in columns]
    if fmt == "jsonl":
        for row in rows:
            values = row_values(campaign, row, columns)
            yield json.dumps({n: _plain(v) for n, v in zip(names, values)}, ensure_ascii=False) + "\n"
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def line(values) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(values)
        return buf.getvalue()

    yield line(names)
    for row in rows:
        values = row_values(campaign, row, columns)
        yield line(["" if v is None else json.dumps(v) if isinstance(v, (dict, list, bool)) else _plain(v)
                    for v in values])
