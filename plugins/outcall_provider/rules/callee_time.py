"""Callee-local calling hours: a call must fall inside the recipient hours on the callee's clock.

US law (47 CFR 64.1200) allows 08:00-21:00 callee local time, some states less. A contact's clock
is not always known for sure, so a contact has candidate time zones and a call must fit the hours
in every one of them.

Candidate zones, the first that applies:
1. the lead's `timezone` (IANA): that zone alone;
2. the lead's `state` (USPS code): every zone of the state (data/us_state_zones.csv);
3. the lead's `postal_code` (US ZIP): the ZIP's zone(s) (data/us_zip_zones.csv);
4. the number: phonenumbers' zones, plus data/us_area_code_zones.csv for area codes that span
   zones phonenumbers does not name. A union, so an extra zone only narrows the hours.

Edges are instants by the convention of rules/window.py (a wall time in a spring-forward gap
means the first real instant after it; one in a fall-back overlap means its first occurrence),
and the hours are half-open: 08:00:00 is allowed, 21:00:00 is not. All instants returned are UTC.
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib.resources import files
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from outcall_provider.rules.window import CallingWindow, as_utc, parse_hours

_EVERY_DAY = frozenset(range(7))
_SEARCH_DAYS = 14
_UNKNOWN_ZONE = "Etc/Unknown"  # what phonenumbers answers when it does not know
_PLACELESS = {phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
              phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.UAN,
              phonenumbers.PhoneNumberType.PERSONAL_NUMBER, phonenumbers.PhoneNumberType.PAGER,
              phonenumbers.PhoneNumberType.VOICEMAIL}
_BY_PREFIX: dict[str, CandidateZones | None] = {}  # by the number less its last 4 digits
_BY_PREFIX_MAX = 200_000
_AREA_CODES, _STATES, _ZIPS = "us_area_code_zones.csv", "us_state_zones.csv", "us_zip_zones.csv"


@dataclass(frozen=True)
class CandidateZones:
    zones: tuple[str, ...]
    source: str  # where the zones came from, for the audit trail


@dataclass(frozen=True)
class RecipientHours:
    start: time
    end: time

    def __post_init__(self):
        # Recipient hours never cross midnight: the law's hours are one daytime span.
        if not self.start < self.end:
            raise ValueError(f"recipient hours {self.start:%H:%M}-{self.end:%H:%M}: end must be after "
                             "start; recipient hours do not cross midnight")

    @classmethod
    def parse(cls, text: str) -> RecipientHours:
        allowed = 'allowed "HH:MM-HH:MM" between 00:00 and 23:59 with end after start, e.g. "08:00-21:00"'
        span = parse_hours(text)  # the format of schedule.hours
        if span is None:
            raise ValueError(f"recipient hours {text!r} are not valid; {allowed}")
        if span[1] <= span[0]:
            raise ValueError(f"recipient hours {text!r}: end must be after start (they do not cross "
                             f"midnight); {allowed}")
        return cls(*span)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str  # empty when allowed, else the first zone that fails, in words
    local_times: dict[str, str]  # zone -> local time then, for the audit


def candidate_zones(phone: str, *, timezone: str | None = None, state: str | None = None,
                    postal_code: str | None = None) -> CandidateZones:
    """The zones the contact `phone` (E.164) may be in, the lead's overrides first."""
    if timezone and timezone.strip():
        zone = timezone.strip()
        _check_zone(zone, "timezone")
        return CandidateZones((zone,), "lead timezone")
    if state and state.strip():
        code = state.strip().upper()
        states = _table(_STATES, "state")
        if code not in states:
            raise ValueError(f"state {state!r} is not a known US state; allowed a two-letter USPS code: "
                             f"{', '.join(sorted(states))}")
        return CandidateZones(_sorted(states[code]), f"state {code} (table {_STATES})")
    if postal_code and postal_code.strip():
        return _zip_zones(postal_code)
    return _phone_zones(phone)


def allowed_at(hours: RecipientHours, zones: CandidateZones | Iterable[str], now: datetime) -> Verdict:
    """Whether `now` lies inside `hours` in every zone; if not, why (the first zone that fails)."""
    now = as_utc(now)
    names = _names(zones)
    local_times = {z: now.astimezone(ZoneInfo(z)).strftime("%Y-%m-%d %H:%M:%S %Z") for z in names}
    for zone in names:
        if not _window(hours, zone).is_open(now):
            wall = now.astimezone(ZoneInfo(zone)).time()
            edge = f"before {hours.start:%H:%M}" if wall < hours.start else f"at or after {hours.end:%H:%M}"
            why = f"callee local time {wall:%H:%M} {zone} is {edge}"
            return Verdict(False, why, local_times)
    return Verdict(True, "", local_times)


def next_allowed(hours: RecipientHours, zones: CandidateZones | Iterable[str], now: datetime) -> datetime | None:
    """The first instant >= now (UTC) at which `hours` hold in every zone; None if there is none
    within _SEARCH_DAYS days (zones too far apart to share an hour: lead data, never an error)."""
    names = _names(zones)
    windows = [_window(hours, z) for z in names]
    t = as_utc(now)
    limit = t + timedelta(days=_SEARCH_DAYS)
    # Jump to the latest next opening until every window is open at once. Each jump skips only
    # instants at which some window is closed, so the first common instant is never passed.
    while t <= limit:
        latest = max(w.next_open(t) for w in windows)
        if latest == t:
            return t
        t = latest
    return None


def _phone_zones(phone: str) -> CandidateZones:
    """Zones depend on a number's leading digits only (phonenumbers' prefixes are shorter than the
    number less its last 4 digits): imports of millions of numbers look each prefix up once."""
    key = f"{phone[:-4]}/{len(phone)}"
    if key not in _BY_PREFIX:
        if len(_BY_PREFIX) >= _BY_PREFIX_MAX:
            _BY_PREFIX.clear()
        _BY_PREFIX[key] = _phone_zones_uncached(phone)
    found = _BY_PREFIX[key]
    if found is None:
        raise ValueError(f"no time zone is known for the number {phone}; give the lead a timezone, "
                         "state or postal_code")
    return found


def _phone_zones_uncached(phone: str) -> CandidateZones | None:
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"phone number {phone!r} is not E.164; allowed e.g. '+14155550100'") from None
    # A toll-free or premium number is in no place: phonenumbers would name every zone of its
    # country plan (Guam to Adak), which leaves no hour to call in. Only its other columns tell.
    placeless = phonenumbers.number_type(number) in _PLACELESS
    zones = set() if placeless else {z for z in phone_timezone.time_zones_for_number(number) if z != _UNKNOWN_ZONE}
    source = "phonenumbers"
    if number.country_code == 1:
        area_code = str(number.national_number)[:3]
        extra = _table(_AREA_CODES, "area_code").get(area_code)
        if extra:
            zones |= set(extra)
            source = f"area code {area_code} (table {_AREA_CODES}) + phonenumbers"
    return CandidateZones(_sorted(zones), source) if zones else None


def _zip_zones(postal_code: str) -> CandidateZones:
    digits = postal_code.strip()
    if not re.fullmatch(r"\d{5}(-?\d{4})?", digits):
        raise ValueError(f"postal_code {postal_code!r} is not a US ZIP code; allowed 5 digits, "
                         "or ZIP+4 like 32401-1234")
    zips = _table(_ZIPS, "zip")
    # The ZIP's own row, else its 3-digit prefix (every zone found under that prefix).
    for key, row in ((digits[:5], "ZIP"), (digits[:3], "prefix")):
        if key in zips:
            return CandidateZones(_sorted(zips[key]), f"postal code {digits[:5]} (table {_ZIPS}, {row} {key})")
    raise ValueError(f"postal_code {postal_code!r} is not a known US ZIP code (table {_ZIPS})")


@functools.cache
def _table(name: str, key: str) -> dict[str, tuple[str, ...]]:
    """One shipped CSV as key -> zones, read once. Lines starting with '#' are its notes."""
    text = files("outcall_provider.rules").joinpath("data", name).read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    table = {row[key]: tuple(row["zones"].split()) for row in rows}
    for zones in table.values():
        for zone in zones:
            _check_zone(zone, f"table {name}")
    return table


@functools.cache
def _window(hours: RecipientHours, zone: str) -> CallingWindow:
    return CallingWindow(hours.start, hours.end, _EVERY_DAY, zone)


def _check_zone(zone: str, what: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{what} {zone!r} is not a known IANA time zone; allowed an IANA name "
                         "such as 'America/New_York'") from None


def _names(zones: CandidateZones | Iterable[str]) -> tuple[str, ...]:
    names = zones.zones if isinstance(zones, CandidateZones) else tuple(zones)
    if not names:
        raise ValueError("no candidate time zones: a call needs at least one")
    for zone in names:
        _check_zone(zone, "zone")
    return names


def _sorted(zones: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(zones)))
