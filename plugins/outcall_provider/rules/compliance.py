"""Compliance: may this callee be called now, and how often (issue 12). Pure.

A lead's CalleeClock holds the candidate zones of all its numbers and its US states (a person
may be wherever any of their numbers or their columns place them). A call needs, in every zone:
the campaign's recipient hours (47 CFR 64.1200: 08:00-21:00 callee local time by default) and the
calling hours of each of the lead's states (rules/state_rules.py). Caps count every call to the
number from any campaign of the store; the campaign's and every state's cap must each hold.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from outcall_provider.rules import callee_time
from outcall_provider.rules.callee_time import CandidateZones, RecipientHours
from outcall_provider.rules.state_rules import StateRules
from outcall_provider.rules.states import TERMINAL_LEAD_STATUSES, WAITING_LEAD_STATUSES, HoldReason
from outcall_provider.rules.window import CallingWindow, as_utc

FEDERAL_HOURS = RecipientHours.parse("08:00-21:00")
_PERIOD_RE = re.compile(r"(\d+)\s*([mhd])")
MAX_PERIOD = timedelta(days=366)  # a cap's period; `at - period` must stay a date
_PERIOD_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class FrequencyCap:
    calls: int
    per: timedelta
    source: str  # "campaign" or the state rule's citation

    def __str__(self) -> str:
        return f"{self.calls} call{'s' * (self.calls != 1)} per {format_period(self.per)} ({self.source})"


@dataclass(frozen=True)
class Compliance:
    """A campaign's `compliance` section."""
    recipient_hours: RecipientHours | None = FEDERAL_HOURS  # None: not checked, see `reason`
    reason: str | None = None
    state_rules: str | None = None  # the user's rules file, relative to the campaign file
    opt_out_variable: str | None = None
    max_calls_per_number: FrequencyCap | None = None
    require_consent: bool = False


def stored_hours(stored: dict | None) -> Compliance:
    """The callee hours of a campaign's stored spec (Campaign.to_dict()'s `compliance`), for
    judging at import whether a lead's numbers share a calling hour; no section: the defaults."""
    if not stored or "recipient_hours" not in stored:
        return Compliance()
    hours = stored["recipient_hours"]
    return Compliance(recipient_hours=RecipientHours.parse(hours) if hours else None,
                      reason=stored.get("reason"))


@dataclass(frozen=True)
class CalleeClock:
    """Where a lead's callee may be (a row of outcall_callee_clocks)."""
    id: int | None
    zones: tuple[str, ...]
    states: tuple[str, ...]
    source: str

    @classmethod
    def of(cls, candidate: CandidateZones, states: Iterable[str]) -> CalleeClock:
        return cls(None, candidate.zones, tuple(sorted(set(states))), candidate.source)


@dataclass(frozen=True)
class HoursCheck:
    """The answer for one clock at one instant, with what the audit records."""
    hold: HoldReason | None  # None: allowed
    why: str
    local_times: dict[str, str]


def check_hours(c: Compliance, rules: StateRules, clock: CalleeClock, now: datetime) -> HoursCheck:
    """Recipient hours in every zone, then every state's hours in every zone."""
    now = as_utc(now)
    if not clock.zones:
        if c.recipient_hours is None and not clock.states:
            return HoursCheck(None, "", {})
        return HoursCheck(HoldReason.RECIPIENT_HOURS, "no time zone is known for this lead's numbers; "
                          "give it a timezone, state or postal_code column", {})
    local_times: dict[str, str] = {}
    if c.recipient_hours is not None:
        verdict = callee_time.allowed_at(c.recipient_hours, clock.zones, now)
        local_times = verdict.local_times
        if not verdict.allowed:
            return HoursCheck(HoldReason.RECIPIENT_HOURS, verdict.why, local_times)
    if clock.states:
        state = rules.allowed_at(clock.states, clock.zones, now)
        if not state.allowed:
            return HoursCheck(HoldReason.STATE_RULE, state.why, local_times)
    return HoursCheck(None, "", local_times)


def next_allowed(c: Compliance, rules: StateRules, clock: CalleeClock, now: datetime) -> datetime | None:
    """The first instant >= now at which check_hours allows this clock; None when there is none
    soon (within the 14 days each rule searches): no zones, or zones that share no allowed hour
    (see never_allowed). Never raises on a lead's clock: callers skip a None."""
    t = as_utc(now)
    if not clock.zones:
        return t if c.recipient_hours is None and not clock.states else None
    for _ in range(64):  # each step moves to the later of the two next openings
        opens = [t]
        if c.recipient_hours is not None:
            opens.append(callee_time.next_allowed(c.recipient_hours, clock.zones, t))
        if clock.states:
            opens.append(rules.next_allowed(clock.states, clock.zones, t))
        if None in opens:
            return None
        later = max(opens)
        if later == t:
            return t
        t = later
    return None


_NEVER_SCAN = timedelta(days=14)  # the search of each rule's next_allowed
_NEVER_SCANS = 27                 # 27 x 14 days: a year from `now`, so every DST season counts


def never_allowed(c: Compliance, rules: StateRules, clock: CalleeClock, now: datetime) -> bool:
    """True when the clock has zones but check_hours allows it at no instant in the year from
    `now`: its numbers share no calling hour (e.g. New York, London and Guam under 08:00-21:00),
    so its lead is held for good (HoldReason.NO_COMMON_HOUR). A clock without zones is not
    `never`: its lead waits for a timezone, state or postal_code (recipient_hours)."""
    return bool(clock.zones) and _never(c, rules, clock.zones, clock.states, as_utc(now))


@functools.lru_cache(maxsize=4096)
def _never(c: Compliance, rules: StateRules, zones: tuple[str, ...], states: tuple[str, ...],
           now: datetime) -> bool:
    # An import or a preview asks this of many leads of a few clocks, at one `now`.
    clock = CalleeClock(None, zones, states, "")
    return all(next_allowed(c, rules, clock, now + n * _NEVER_SCAN) is None for n in range(_NEVER_SCANS))


def no_common_hour_why(c: Compliance, rules: StateRules, clock: CalleeClock) -> str:
    """What never holds for a never_allowed clock, in words: '08:00-21:00 never holds in all of
    America/New_York, Europe/London, Pacific/Guam at once'."""
    what = [str(c.recipient_hours)] if c.recipient_hours is not None else []
    ruled = [s for s in clock.states if rules.rules_for(s)]
    if ruled:
        what.append(f"the state rules of {', '.join(ruled)}")
    hours = " and ".join(what) or "no calling hour"
    verb = "hold" if len(what) > 1 else "holds"
    return f"{hours} never {verb} in all of {', '.join(clock.zones)} at once"


def number_caps(c: Compliance, rules: StateRules, states: Iterable[str]) -> list[FrequencyCap]:
    """Every cap on calls to one number: the campaign's and each state's. All of them must hold:
    no one cap implies another (10 a week allows 10 in a day; 3 a day allows 21 a week)."""
    caps = [c.max_calls_per_number] if c.max_calls_per_number else []
    return caps + [FrequencyCap(s.calls, s.per, f"{s.state}: {s.source}") for s in rules.caps(states)]


def parse_period(text) -> timedelta | None:
    """'24h', '7d', '90m' → timedelta; None if not of that form."""
    m = _PERIOD_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m or int(m.group(1)) == 0:
        return None
    try:
        period = timedelta(**{_PERIOD_UNITS[m.group(2)]: int(m.group(1))})
    except OverflowError:
        return None
    return period if period <= MAX_PERIOD else None


def format_period(period: timedelta) -> str:
    minutes = int(period.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes > 24 * 60:
        return f"{minutes // (24 * 60)}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


@dataclass(frozen=True)
class LeadFacts:
    """What decides whether a lead may be dialed at a moment (sql/queries/lead_hold_facts.sql)."""
    status: str
    due: bool
    due_at: datetime
    has_dialable: bool
    callee_clock_id: int | None
    consented: bool
    dnc_lists: tuple[str, ...]
    recent_calls: tuple[datetime, ...]  # calls to its number in the longest cap period before `at`


def hold_reasons(c: Compliance, rules: StateRules, window: CallingWindow, clock: CalleeClock, f: LeadFacts,
                 at: datetime) -> list[tuple[HoldReason, str]]:
    """Every reason the lead would not be dialed at `at` (empty: it would be), each with a why."""
    if f.status in TERMINAL_LEAD_STATUSES:
        return [(HoldReason.TERMINAL, f"the lead is {f.status}")]
    reasons: list[tuple[HoldReason, str]] = []
    if not f.has_dialable:
        reasons.append((HoldReason.NO_DIALABLE_CONTACT, "no number of the lead can be dialed"))
    if f.dnc_lists:
        reasons.append((HoldReason.DNC, f"its number is on the do-not-call list {', '.join(f.dnc_lists)}"))
    if c.require_consent and not f.consented:
        reasons.append((HoldReason.NO_CONSENT, "no consent_at, and compliance.require_consent is on"))
    if f.status not in WAITING_LEAD_STATUSES:
        reasons.append((HoldReason.NOT_DUE, f"the lead is {f.status} (claimed by a dialer or in a call)"))
    elif not f.due:
        reasons.append((HoldReason.NOT_DUE, f"its next attempt is due at {as_utc(f.due_at):%Y-%m-%d %H:%M}Z"))
    if not window.is_open(at):
        reasons.append((HoldReason.CAMPAIGN_WINDOW, f"the campaign window is closed; it opens at "
                                                    f"{window.next_open(at):%Y-%m-%d %H:%M}Z"))
    hours = check_hours(c, rules, clock, at)
    if hours.hold is not None and never_allowed(c, rules, clock, at):
        reasons.append((HoldReason.NO_COMMON_HOUR, f"its numbers share no calling hour: "
                        f"{no_common_hour_why(c, rules, clock)}; it is held and never called"))
    elif hours.hold is not None:
        reasons.append((hours.hold, hours.why))
    reached = cap_reached(number_caps(c, rules, clock.states), f.recent_calls, at)
    if reached:
        frees, calls, cap = reached
        reasons.append((HoldReason.FREQUENCY_CAP, f"{calls} calls to its number in the last "
                        f"{format_period(cap.per)} (cap {cap}); the next is allowed at {frees:%Y-%m-%d %H:%M}Z"))
    return reasons


def cap_reached(caps: Iterable[FrequencyCap], calls: Iterable[datetime],
                at: datetime) -> tuple[datetime, int, FrequencyCap] | None:
    """Whether one more call at `at` would break a cap, given the earlier calls to the number:
    (when the last cap reached frees a call, the calls it counts, that cap), or None."""
    reached = []
    for cap in caps:
        counted = sorted(t for t in calls if t > as_utc(at) - cap.per)
        if len(counted) >= cap.calls:
            reached.append((counted[len(counted) - cap.calls] + cap.per, len(counted), cap))
    return max(reached, key=lambda r: r[0], default=None)  # the next call waits for the last to free


def longest_cap_period(c: Compliance, rules: StateRules) -> timedelta:
    """How far back a preview must look at calls to judge every cap that may apply."""
    return max((cap.per for cap in number_caps(c, rules, rules.states())), default=timedelta(0))
