"""US state calling rules stricter than the federal 08:00-21:00 (47 CFR 64.1200(c)(1)).

Rows come from data/us_state_rules.csv (see its header for the format); a user's file of the same
format replaces every shipped row of each state it names. A lead's states come from the lead
(or its area code, data/us_area_code_states.csv); its zones from rules/callee_time.py. A call is
allowed only if, for every state and every candidate zone, the local time in that zone fits the
state's row for that local weekday: the lead's real clock and state are unknown, so every
combination must pass. Windows use CallingWindow, so DST edges follow rules/window.py.
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.resources import files
from typing import Iterable
from zoneinfo import ZoneInfo

import phonenumbers

from outcall_provider.rules.callee_time import CandidateZones, RecipientHours, _names
from outcall_provider.rules.window import CallingWindow, as_utc, local_midnight

_RULES, _AREA_CODES, _STATES = "us_state_rules.csv", "us_area_code_states.csv", "us_state_zones.csv"
_COLUMNS = ("state", "days", "hours", "max_calls", "per_hours", "source", "checked", "note")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SEARCH_DAYS = 14
_FEDERAL = "08:00-21:00 (47 CFR 64.1200(c)(1))"


@dataclass(frozen=True)
class StateRule:
    state: str
    days: frozenset[int]  # 0 = Monday
    hours: RecipientHours | None  # None: no calls on those days
    source: str
    checked: str
    note: str
    line: int
    file: str

    @property
    def citation(self) -> str:
        """The source without its URLs, for messages."""
        return re.sub(r"\s*https?://\S+", "", self.source).strip()


@dataclass(frozen=True)
class StateCap:
    state: str
    calls: int
    per: timedelta
    source: str


@dataclass(frozen=True)
class StateVerdict:
    allowed: bool
    why: str  # empty when allowed
    rule: StateRule | None  # the row that refused


class StateRules:
    def __init__(self, rules: dict[str, tuple[StateRule, ...]], caps: dict[str, StateCap]):
        self._rules, self._caps = rules, caps

    @classmethod
    def shipped(cls) -> StateRules:
        return _shipped()

    def extended(self, text: str, path: str) -> StateRules:
        """These rules with `text` (a file at `path`) replacing all rows of each state it names."""
        rules, caps = _parse(text, path)
        kept = {s: r for s, r in self._rules.items() if s not in rules}
        kept_caps = {s: c for s, c in self._caps.items() if s not in rules}
        return StateRules({**kept, **rules}, {**kept_caps, **caps})

    def states(self) -> list[str]:
        return sorted(self._rules)

    def rules_for(self, state: str) -> list[StateRule]:
        return list(self._rules.get(_code(state), ()))

    def caps(self, states: Iterable[str]) -> list[StateCap]:
        """Every cap of these states, by state code: each of them must hold."""
        return [self._caps[c] for c in sorted({_code(s) for s in states}) if c in self._caps]

    def allowed_at(self, states: Iterable[str], zones: CandidateZones | Iterable[str],
                   now: datetime) -> StateVerdict:
        now = as_utc(now)
        names = _names(zones)
        for state in sorted({_code(s) for s in states}):
            for zone in names:
                local = now.astimezone(ZoneInfo(zone))
                rule = self._row(state, local.weekday())
                if rule is None or (rule.hours and _window(rule.hours, rule.days, zone).is_open(now)):
                    continue
                return StateVerdict(False, _why(rule, local, zone), rule)
        return StateVerdict(True, "", None)

    def next_allowed(self, states: Iterable[str], zones: CandidateZones | Iterable[str],
                     now: datetime) -> datetime | None:
        """The first instant >= now (UTC) at which allowed_at holds; None if there is none within
        _SEARCH_DAYS days (rows that never allow a call, or zones too far apart)."""
        pairs = [(s, z) for s in sorted({_code(s) for s in states}) for z in _names(zones)]
        t = as_utc(now)
        limit = t + timedelta(days=_SEARCH_DAYS)
        # As callee_time.next_allowed: jump to the latest next opening until all are open at once;
        # each jump skips only instants at which some (state, zone) pair is closed.
        while t <= limit:
            latest = max((self._next_open(s, z, t, limit) for s, z in pairs), default=t)
            if latest == t:
                return t
            t = latest
        return None

    def summary(self, state: str) -> str:
        """One line for an attempt's audit: the state's hours by day, its cap and citations."""
        code = _code(state)
        rules = self._rules.get(code, ())
        if not rules:
            return f"{code}: no state rule (federal {_FEDERAL})"
        days = "; ".join(f"{_days_text(r.days)} {r.hours or 'no calls'}" for r in rules)
        cap = self._caps.get(code)
        capped = f"; at most {cap.calls} calls per {cap.per / timedelta(hours=1):g} h" if cap else ""
        cites = ", ".join(dict.fromkeys(f"{r.citation} (checked {r.checked})" for r in rules))
        return f"{code}: {days}{capped} [{cites}]"

    def describe(self, state: str | None = None) -> str:
        """Text for `outcall compliance rules [--state XX]`."""
        names = _state_names()
        if state is not None and _code(state) not in self._rules:
            return (f"{names[_code(state)]} ({_code(state)}) has no state rule here: it follows the "
                    f"federal {_FEDERAL} only.")
        lines = [f"State calling rules stricter than the federal {_FEDERAL}, callee local time:"]
        for code in [_code(state)] if state else self.states():
            lines.append(f"{names[code]} ({code})")
            for r in self._rules[code]:
                lines.append(f"  {_days_text(r.days)}: {r.hours or 'no calls'}")
            cap = self._caps.get(code)
            if cap:
                lines.append(f"  cap: at most {cap.calls} calls to a number per {cap.per / timedelta(hours=1):g} h")
            for source, checked in dict.fromkeys((r.source, r.checked) for r in self._rules[code]):
                lines.append(f"  source: {source} (checked {checked})")
            for note in dict.fromkeys(r.note for r in self._rules[code] if r.note):
                lines.append(f"  note: {note}")
        if state is None:
            lines.append(f"Every other state follows the federal {_FEDERAL} only.")
        return "\n".join(lines)

    def _row(self, state: str, weekday: int) -> StateRule | None:
        return next((r for r in self._rules.get(state, ()) if weekday in r.days), None)

    def _next_open(self, state: str, zone: str, t: datetime, limit: datetime) -> datetime:
        """The first instant >= t at which `state` allows a call in `zone`."""
        rows = self._rules.get(state, ())
        tz = ZoneInfo(zone)
        local_day = t.astimezone(tz).date()
        covered = frozenset().union(*(r.days for r in rows))
        if local_day.weekday() not in covered:
            return t
        open_rows = [r for r in rows if r.hours]
        if any(_window(r.hours, r.days, zone).is_open(t) for r in open_rows):
            return t
        # Opening instants: a row's next window, or the first instant of a day without a row.
        candidates = [_window(r.hours, r.days, zone).next_open(t) for r in open_rows]
        candidates += [local_midnight(local_day + timedelta(days=n), tz) for n in range(1, 8)
                       if (local_day + timedelta(days=n)).weekday() not in covered]
        if not candidates:  # every day of the week is `none`
            return limit + timedelta(seconds=1)
        return min(candidates)


def area_code_states(phone_e164: str) -> tuple[str, ...]:
    """The states of a US number's area code; () for a non-US number or an unknown area code."""
    if phone_e164.startswith("+1") and len(phone_e164) == 12 and phone_e164[1:].isdigit():  # E.164 NANP
        return _area_codes().get(phone_e164[2:5], ())
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"phone number {phone_e164!r} is not E.164; allowed e.g. '+14155550100'") from None
    if number.country_code != 1:
        return ()
    return _area_codes().get(str(number.national_number)[:3], ())


@functools.cache
def _shipped() -> StateRules:
    text = files("outcall_provider.rules").joinpath("data", _RULES).read_text(encoding="utf-8")
    return StateRules(*_parse(text, f"package data {_RULES}"))


def _parse(text: str, path: str) -> tuple[dict[str, tuple[StateRule, ...]], dict[str, StateCap]]:
    """Rows and caps of one rules file; every bad line is reported in one ValueError."""
    errors: list[str] = []
    rows: list[StateRule] = []
    caps: dict[str, list[tuple[tuple[int, timedelta] | None, int]]] = {}
    header_seen = False
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = next(csv.reader([raw]))
        if not header_seen:
            header_seen = True
            if tuple(f.strip() for f in fields) != _COLUMNS:
                errors.append(f"{path} line {n}: header must be {','.join(_COLUMNS)}")
                break
            continue
        if len(fields) != len(_COLUMNS):
            errors.append(f"{path} line {n}: {len(fields)} columns; allowed exactly {len(_COLUMNS)}: "
                          f"{','.join(_COLUMNS)} (quote a field that holds a comma)")
            continue
        row = dict(zip(_COLUMNS, (f.strip() for f in fields)))

        def bad(col: str, msg: str, n: int = n) -> None:
            errors.append(f"{path} line {n}, column {_COLUMNS.index(col) + 1} ({col}): {msg}")

        state, days, hours, cap = row["state"].upper(), _parse_days(row["days"]), None, None
        if state not in _state_names():
            bad("state", f"{row['state']!r} is not a known state; allowed a two-letter USPS code such as FL")
        if days is None:
            bad("days", f"{row['days']!r} is not valid; allowed mon..sun as ranges and comma lists, "
                        "e.g. mon-fri, sat, sun, mon,wed,fri")
        if row["hours"].lower() != "none":
            try:
                hours = RecipientHours.parse(row["hours"])
            except ValueError as e:
                bad("hours", f"{e}; or 'none' for no calls on those days")
        if row["max_calls"] or row["per_hours"]:
            calls, per = _positive(row["max_calls"]), _positive(row["per_hours"])
            if calls is None:
                bad("max_calls", f"{row['max_calls']!r} is not valid; allowed a whole number >= 1, given "
                                 "with per_hours, or both empty for no cap")
            if per is None:
                bad("per_hours", f"{row['per_hours']!r} is not valid; allowed a whole number of hours >= 1, "
                                 "given with max_calls, or both empty for no cap")
            cap = (calls, timedelta(hours=per)) if calls and per else None
        if not row["source"]:
            bad("source", "empty; allowed the statute or rule citation and its URL")
        try:
            date.fromisoformat(row["checked"])
        except ValueError:
            bad("checked", f"{row['checked']!r} is not valid; allowed the ISO date it was checked, e.g. 2026-11-27")
        if days is not None:
            rows.append(StateRule(state, days, hours, row["source"], row["checked"], row["note"], n, path))
            caps.setdefault(state, []).append((cap, n))
    if not header_seen:
        errors.append(f"{path}: no header line; allowed {','.join(_COLUMNS)}")
    by_state: dict[str, tuple[StateRule, ...]] = {}
    for r in rows:
        for other in by_state.get(r.state, ()):
            if shared := r.days & other.days:
                errors.append(f"{path} line {r.line}, column 2 (days): {r.state} {_days_text(shared)} already has "
                              f"line {other.line}; allowed one row per state and weekday")
        by_state[r.state] = by_state.get(r.state, ()) + (r,)
    state_caps: dict[str, StateCap] = {}
    for state, found in caps.items():
        # A cap belongs to the state, so all its rows must agree (see the data file header).
        if len({c for c, _ in found}) > 1:
            lines = ", ".join(str(line) for _, line in found)
            errors.append(f"{path} line {found[0][1]}, column 4 (max_calls): {state} rows (lines {lines}) give "
                          "different caps; allowed the same max_calls,per_hours on every row of a state")
        elif found[0][0]:
            calls, per = found[0][0]
            state_caps[state] = StateCap(state, calls, per, by_state[state][0].source)
    if errors:
        raise ValueError(f"{len(errors)} error(s) in state rules {path}:\n" + "\n".join(errors))
    return by_state, state_caps


def _parse_days(text: str) -> frozenset[int] | None:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(e in _DAYS for e in ends):
            return None
        first, last = _DAYS.index(ends[0]), _DAYS.index(ends[-1])
        if last < first:  # ranges run mon..sun and do not wrap: write sat,sun,mon
            return None
        days.update(range(first, last + 1))
    return frozenset(days) or None


def _days_text(days: frozenset[int]) -> str:
    """{0..4, 6} -> 'mon-fri,sun'."""
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(_DAYS[r[0]] if len(r) == 1 else f"{_DAYS[r[0]]}-{_DAYS[r[-1]]}" for r in runs)


def _positive(text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) >= 1 else None


def _why(rule: StateRule, local: datetime, zone: str) -> str:
    name = f"{_state_names()[rule.state]} ({rule.state})"
    if rule.hours is None:
        allows = f"allows no calls on {_DAY_NAMES[local.weekday()]}"
    else:
        on = "" if len(rule.days) == 7 else f" on {_DAY_NAMES[local.weekday()]}"
        allows = f"allows {rule.hours}{on}"
    return f"{name} {allows}; callee local time {local:%H:%M} {zone} ({rule.citation})"


@functools.cache
def _window(hours: RecipientHours, days: frozenset[int], zone: str) -> CallingWindow:
    return CallingWindow(hours.start, hours.end, days, zone)


def _code(state: str) -> str:
    code = state.strip().upper()
    if code not in _state_names():
        raise ValueError(f"state {state!r} is not a known US state; allowed a two-letter USPS code such as FL")
    return code


def _data_rows(name: str) -> list[dict[str, str]]:
    text = files("outcall_provider.rules").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


@functools.cache
def _state_names() -> dict[str, str]:
    return {row["state"]: row["name"] for row in _data_rows(_STATES)}


@functools.cache
def _area_codes() -> dict[str, tuple[str, ...]]:
    return {row["area_code"]: tuple(row["states"].split()) for row in _data_rows(_AREA_CODES)}
