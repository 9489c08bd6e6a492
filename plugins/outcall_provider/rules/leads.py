"""Lead rows: which CSV column means what, and whether one row is a usable Lead.

Pure: the hook streams the file and hands rows here; nothing is read or written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from outcall_provider.exceptions import LeadFileError
from outcall_provider.rules import callee_time
from outcall_provider.rules.compliance import CalleeClock, Compliance, never_allowed, no_common_hour_why
from outcall_provider.rules.phone import InvalidPhone, normalize_phone
from outcall_provider.rules.state_rules import StateRules, area_code_states
from outcall_provider.rules.states import HoldReason
from outcall_provider.rules.twiml import OUTCALL_PARAMETERS, TWIML_MAX_CHARS, TWIML_TOO_LONG, TwimlBudget

MAX_SECONDARY = 10
# The unique index on external_id takes at most ~2700 bytes: 500 characters fit even as 4-byte UTF-8.
MAX_EXTERNAL_ID = 500
PHONE = "phone_number"
EXTERNAL_ID = "external_id"
# Where the callee is and whether they consented: read by the rules, not handed to the assistant.
TIMEZONE, STATE, POSTAL_CODE, CONSENT_AT = "timezone", "state", "postal_code", "consent_at"
PLACE_COLUMNS = (TIMEZONE, STATE, POSTAL_CODE, CONSENT_AT)
_SECONDARY = re.compile(r"secondary_phone_(\d+)$")


@dataclass(frozen=True)
class LeadColumns:
    """Positions of the meaningful columns in a header row."""

    width: int
    phone: int
    secondaries: tuple[tuple[str, int], ...]  # (column name, position), in contact order
    external_id: int | None
    variables: tuple[tuple[str, int], ...]
    place: tuple[tuple[str, int], ...] = ()  # (name, position) of timezone, state, postal_code, consent_at
    # Columns refused while the rest of the file is imported (a name outcall gives the assistant itself).
    dropped: tuple["RowProblem", ...] = ()


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str | None
    value: str | None
    reason: str
    skipped_row: bool = True  # False: the lead is kept, only this value was dropped


@dataclass(frozen=True)
class Lead:
    line: int
    phone_number: str
    external_id: str | None = None
    secondaries: tuple[str, ...] = ()
    variables: dict = field(default_factory=dict)
    clock: CalleeClock = CalleeClock(None, (), (), "")
    consent_at: datetime | None = None


def read_header(header: list[str], source: str) -> LeadColumns:
    names = [h.strip() for h in header]
    errors: list[str] = []
    if not any(names):
        raise LeadFileError(source, ["line 1: the header row is empty; a `phone_number` column is required"])
    if not all(_is_text(name) for name in names):
        raise LeadFileError(source, ["line 1: the header row is not UTF-8 text; save the file as CSV UTF-8 "
                                     "(Excel workbooks and UTF-16 files cannot be read)"])
    seen: dict[str, int] = {}
    secondaries: list[tuple[int, str, int]] = []
    variables: list[tuple[str, int]] = []
    dropped: list[RowProblem] = []
    for pos, name in enumerate(names):
        if not name:
            errors.append(f"line 1, column {pos + 1}: empty column name")
            continue
        if name in seen:
            errors.append(f"line 1: column `{name}` appears twice (columns {seen[name] + 1} and {pos + 1})")
            continue
        seen[name] = pos
        m = _SECONDARY.match(name)
        if m:
            n = int(m.group(1))
            if not 1 <= n <= MAX_SECONDARY:
                errors.append(f"line 1: column `{name}`: at most {MAX_SECONDARY} secondary contacts are "
                              f"allowed (secondary_phone_1 … secondary_phone_{MAX_SECONDARY})")
            secondaries.append((n, name, pos))
        elif name in OUTCALL_PARAMETERS:
            dropped.append(RowProblem(1, name, None, reserved_reason(name), skipped_row=False))
        elif name not in (PHONE, EXTERNAL_ID, *PLACE_COLUMNS):
            variables.append((name, pos))
    if PHONE not in seen:
        errors.append(f"line 1: the required column `{PHONE}` is missing (columns found: {', '.join(names)})")
    if errors:
        raise LeadFileError(source, errors)
    return LeadColumns(
        width=len(names), phone=seen[PHONE],
        secondaries=tuple((name, pos) for _, name, pos in sorted(secondaries)),
        external_id=seen.get(EXTERNAL_ID), variables=tuple(variables),
        place=tuple((name, seen[name]) for name in PLACE_COLUMNS if name in seen), dropped=tuple(dropped))


# Why a lead variable may not be named like one of outcall's own call parameters.
RESERVED_WHY = (f"outcall itself hands the assistant {' and '.join(f'`{n}`' for n in OUTCALL_PARAMETERS)} on "
                f"every call, so no lead variable may have these names")


def reserved_reason(name: str) -> str:
    return f"column `{name}` is not imported: {RESERVED_WHY} (rename the column); the other columns are imported"


def _is_text(name: str) -> bool:
    """UTF-8 encodable (the reader keeps undecodable bytes as lone surrogates) and without NUL."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in name


def text_row(row) -> list[str]:
    """A record from a database (or any source other than a CSV file) as text fields. Variables
    are text handed to the assistant, so a non-finite number from a driver stays the word it
    prints as ("nan", "inf"): it can be a real value (a name "Nan", a plan "Infinity"), and JSON
    has no number for it. None is an empty field."""
    return [v if v.__class__ is str else ("" if v is None else str(v)) for v in row]


def parse_row(cols: LeadColumns, row: list[str], line: int, default_region: str | None,
              twiml: TwimlBudget | None = None,
              no_common_hour: Callable[[CalleeClock], str | None] | None = None,
              ) -> tuple[Lead | None, list[RowProblem]]:
    """One record of text fields (see text_row) → a Lead (or None) and the problems found, each
    naming its line and field. `twiml`: a stream campaign's calls, which carry the variables as
    <Parameter>s; a lead whose call would not fit is refused. `no_common_hour(clock)`: what never
    holds for a clock whose zones share no calling hour, else None (NoCommonHourCheck); such a
    lead is kept with a warning."""
    if len(row) != cols.width:
        return None, [RowProblem(line, None, None,
                                 f"has {len(row)} fields, the header has {cols.width}")]
    raw = row[cols.phone]
    try:
        phone = normalize_phone(raw, default_region)
    except InvalidPhone as e:
        return None, [RowProblem(line, PHONE, raw, e.reason)]
    problems: list[RowProblem] = []
    secondaries: list[str] = []
    for name, pos in cols.secondaries:
        value = row[pos]
        if not value.strip():
            continue
        try:
            number = normalize_phone(value, default_region)
        except InvalidPhone as e:
            problems.append(RowProblem(line, name, value, e.reason, skipped_row=False))
            continue
        if number == phone or number in secondaries:
            problems.append(RowProblem(line, name, value, "repeats another phone of this lead", skipped_row=False))
            continue
        secondaries.append(number)
    external_id = row[cols.external_id].strip() if cols.external_id is not None else ""
    if len(external_id) > MAX_EXTERNAL_ID:
        return None, [RowProblem(line, EXTERNAL_ID, external_id[:40] + "…",
                                 f"is longer than {MAX_EXTERNAL_ID} characters")]
    variables = {name: row[pos] for name, pos in cols.variables}
    if twiml is not None and (over := twiml.too_long(variables)) is not None:
        name, size = over
        value = variables[name]
        return None, [RowProblem(line, name, value[:40] + "…" if len(value) > 40 else value,
                                 f"makes the call's TwiML {size} characters, over Twilio's limit of {TWIML_MAX_CHARS} "
                                 f"characters (error {TWIML_TOO_LONG}): the lead's variables are the stream's "
                                 f"<Parameter>s; shorten `{name}` (it takes the most room)")]
    place = {name: row[pos].strip() for name, pos in cols.place}
    clock = callee_clock(phone, secondaries, place)
    if isinstance(clock, RowProblem):
        return None, [RowProblem(line, clock.field, clock.value, clock.reason)]
    if not clock.zones:
        problems.append(RowProblem(line, PHONE, raw, "no time zone is known for this lead's numbers; it is kept but "
                                   "not called until it has a timezone, state or postal_code", skipped_row=False))
    elif no_common_hour is not None and (never := no_common_hour(clock)):
        problems.append(RowProblem(line, PHONE, raw, f"its numbers share no calling hour ({never}); the lead is "
                                   f"kept but held and never called (hold reason {HoldReason.NO_COMMON_HOUR.value}) "
                                   "until its numbers or its timezone, state or postal_code change",
                                   skipped_row=False))
    consent_at = None
    if place.get(CONSENT_AT):
        consent_at = parse_consent(place[CONSENT_AT])
        if consent_at is None:
            problems.append(RowProblem(line, CONSENT_AT, place[CONSENT_AT], "is not an ISO time such as "
                                       "2026-05-01T14:30:00Z; the lead is kept without consent", skipped_row=False))
    return Lead(line, phone, external_id or None, tuple(secondaries), variables, clock, consent_at), problems


@dataclass(frozen=True)
class NoCommonHourCheck:
    """parse_row's `no_common_hour` for an import at `now` under a campaign's compliance and state
    rules (picklable, for the import's worker processes)."""
    compliance: Compliance
    state_rules: StateRules
    now: datetime

    def __call__(self, clock: CalleeClock) -> str | None:
        if not never_allowed(self.compliance, self.state_rules, clock, self.now):
            return None
        return no_common_hour_why(self.compliance, self.state_rules, clock)


def callee_clock(phone: str, secondaries: list[str], place: dict[str, str]) -> CalleeClock | RowProblem:
    """The lead's clock: its timezone / state / postal_code column, else the zones of every number
    it has (the person may be wherever any of them places them). States: its `state`, else the
    states of its numbers' area codes."""
    numbers = [phone, *secondaries]
    if place.get(STATE) and place.get(TIMEZONE):  # the timezone decides the zones; the state's rules still apply
        try:
            callee_time.candidate_zones(phone, state=place[STATE])
        except ValueError as e:
            return RowProblem(0, STATE, place[STATE], str(e))
    if any(place.get(k) for k in (TIMEZONE, STATE, POSTAL_CODE)):
        states = [place[STATE].upper()] if place.get(STATE) else [s for n in numbers for s in area_code_states(n)]
        try:
            candidate = callee_time.candidate_zones(phone, timezone=place.get(TIMEZONE), state=place.get(STATE),
                                                    postal_code=place.get(POSTAL_CODE))
        except ValueError as e:
            column = next(k for k in (TIMEZONE, STATE, POSTAL_CODE) if place.get(k))
            return RowProblem(0, column, place[column], str(e))
        return CalleeClock.of(candidate, states)
    key = tuple(f"{n[:-4]}/{len(n)}" for n in numbers)  # zones and states follow leading digits
    if key not in _CLOCK_BY_PREFIXES:
        if len(_CLOCK_BY_PREFIXES) >= 100_000:
            _CLOCK_BY_PREFIXES.clear()
        _CLOCK_BY_PREFIXES[key] = _numbers_clock(numbers)
    return _CLOCK_BY_PREFIXES[key]


_CLOCK_BY_PREFIXES: dict[tuple[str, ...], CalleeClock] = {}  # an import looks each prefix set up once


def _numbers_clock(numbers: list[str]) -> CalleeClock:
    states = [s for n in numbers for s in area_code_states(n)]
    zones: set[str] = set()
    sources: set[str] = set()
    for number in numbers:
        try:
            candidate = callee_time.candidate_zones(number)
        except ValueError:  # no zone known for this number: the others still count
            continue
        zones.update(candidate.zones)
        sources.add(candidate.source)
    source = "numbers: " + "; ".join(sorted(sources)) if sources else "no zone known"
    return CalleeClock(None, tuple(sorted(zones)), tuple(sorted(set(states))), source)


def parse_consent(text: str) -> datetime | None:
    """An ISO time (a time without offset is UTC); None if it is not one."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
