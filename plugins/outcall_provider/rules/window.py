"""The calling window: the allowed hours and weekdays, read on the assistant's local clock.

A window opens on each allowed weekday at `start` local time and closes at `end`; when `end`
is earlier than `start` it closes the next day (the weekday is the day the window starts).
Local wall times are turned into instants like this:
- a time inside a spring-forward gap (it never happens on the clock) means the first real
  instant after the gap, for both start and end;
- a time inside a fall-back overlap (it happens twice) means its first occurrence (fold=0), for
  both start and end. So the window never stays open into the repeated hour: e.g. 00:30-01:30
  in New York on the fall-back night closes at 01:30 EDT, and 01:00-01:30 EST stays closed.
All instants returned are UTC.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import Iterator
from zoneinfo import ZoneInfo

_UTC = timezone.utc
_HOURS_RE = re.compile(r"(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})")
# Enough days to pass one full week plus a day that a DST gap may have emptied.
_LOOKAHEAD_DAYS = 16


@dataclass(frozen=True)
class CallingWindow:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday
    timezone: str

    def __post_init__(self):
        if self.start == self.end:
            raise ValueError("calling window start and end are equal: the window is empty")
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError(f"calling window days must be a non-empty subset of 0..6: {self.days}")
        object.__setattr__(self, "days", frozenset(self.days))
        _ = self._zone  # fail early on an unknown timezone

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, now: datetime) -> bool:
        return self._containing(now) is not None

    def next_open(self, now: datetime) -> datetime:
        """The first instant >= now at which the window is open (now itself if open)."""
        now = as_utc(now)
        for opens, closes in self._intervals(now):
            if closes > now:
                return max(opens, now)
        raise AssertionError("unreachable: an allowed weekday occurs every week")

    def closes_at(self, now: datetime) -> datetime | None:
        """When the window open at `now` closes, or None if it is closed."""
        now = as_utc(now)
        found = None
        for opens, closes in self._intervals(now):
            if found is None:
                if opens <= now < closes:
                    found = closes
            elif opens <= found:  # a DST-lengthened night may run into the next window
                found = max(found, closes)
            else:
                break
        return found

    def _containing(self, now: datetime):
        now = as_utc(now)
        for opens, closes in self._intervals(now):
            if opens > now:
                return None
            if now < closes:
                return opens, closes
        return None

    def _intervals(self, now: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Non-empty [opens, closes) UTC intervals by start day, from the day before `now`."""
        day = now.astimezone(self._zone).date() - timedelta(days=1)
        crosses_midnight = self.end < self.start
        for _ in range(_LOOKAHEAD_DAYS):
            if day.weekday() in self.days:
                opens = self._instant(day, self.start)
                end_day = day + timedelta(days=1) if crosses_midnight else day
                closes = self._instant(end_day, self.end)
                if opens < closes:  # start and end both inside one DST gap: no window that day
                    yield opens, closes
            day += timedelta(days=1)

    def _instant(self, day: date, wall: time) -> datetime:
        first = datetime.combine(day, wall, tzinfo=self._zone)  # fold=0
        second = first.replace(fold=1)
        a, b = first.astimezone(_UTC), second.astimezone(_UTC)
        if a <= b:  # a real time, or an overlap where fold=0 is the first occurrence
            return a
        # A gap: fold=0 read it with the old offset (too late), fold=1 with the new one (too
        # early). The transition (a whole second in tzdata) lies in (b, a]: bisect for it.
        new_offset = second.utcoffset()
        lo, hi = math.floor(b.timestamp()), math.ceil(a.timestamp())
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self._zone).utcoffset() == new_offset:
                hi = mid
            else:
                lo = mid
        return datetime.fromtimestamp(hi, _UTC)

def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local day, in UTC. fold=0 of local midnight: in a midnight DST gap
    this is the gap's end, the day's first real instant."""
    return as_utc(datetime.combine(day, time(0), tzinfo=zone))


def day_start(now: datetime, tz: str, days_ahead: int = 0) -> datetime:
    """Midnight of `now`'s local day in `tz` (or of a day `days_ahead` later), in UTC."""
    zone = ZoneInfo(tz)
    return local_midnight(now.astimezone(zone).date() + timedelta(days=days_ahead), zone)


def as_utc(now: datetime) -> datetime:
    """An aware instant in UTC; a naive one is refused (its clock would be a guess)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(_UTC)


def parse_hours(text) -> tuple[time, time] | None:
    """The two wall times of "HH:MM-HH:MM" (each 00:00-23:59), or None if `text` is not that.
    Whether the end may come before the start is the caller's rule."""
    match = _HOURS_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    h1, m1, h2, m2 = map(int, match.groups())
    if max(h1, h2) > 23 or max(m1, m2) > 59:
        return None
    return time(h1, m1), time(h2, m2)
