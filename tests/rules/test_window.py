"""Calling-window tests. Expected instants are written in UTC, worked out by hand from the
zone's offsets (New York EST -5 / EDT -4, Lisbon WET +0 / WEST +1, Sydney AEST +10 / AEDT +11)."""
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from outcall_provider.rules.window import CallingWindow

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = frozenset({MON, TUE, WED, THU, FRI})
EVERY_DAY = frozenset(range(7))
NY, LISBON, SYDNEY = "America/New_York", "Europe/Lisbon", "Australia/Sydney"


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def window(start, end, days=EVERY_DAY, tz=NY):
    return CallingWindow(time(*start), time(*end), frozenset(days), tz)


OFFICE = window((9, 0), (18, 0), WEEKDAYS)


def test_office_hours():
    mon_open = utc(2025, 6, 2, 13, 0)  # Mon 09:00 EDT
    assert OFFICE.is_open(mon_open)
    assert not OFFICE.is_open(utc(2025, 6, 2, 12, 59, 59))
    assert OFFICE.closes_at(mon_open) == utc(2025, 6, 2, 22, 0)
    assert not OFFICE.is_open(utc(2025, 6, 2, 22, 0))  # end is exclusive
    assert OFFICE.closes_at(utc(2025, 6, 2, 22, 0)) is None
    assert OFFICE.next_open(utc(2025, 6, 2, 22, 0)) == utc(2025, 6, 3, 13, 0)


def test_next_open_is_now_when_open_and_utc():
    now = datetime(2025, 6, 3, 11, 15, tzinfo=ZoneInfo(NY))
    assert OFFICE.next_open(now) == now
    assert OFFICE.next_open(now).utcoffset().total_seconds() == 0


def test_now_in_any_timezone():
    tokyo = datetime(2025, 6, 3, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # Mon 17:00Z = 13:00 EDT
    assert OFFICE.is_open(tokyo)
    assert OFFICE.closes_at(tokyo) == utc(2025, 6, 2, 22, 0)


def test_weekend_skipped():
    friday_evening = utc(2025, 6, 6, 23, 0)
    assert OFFICE.next_open(friday_evening) == utc(2025, 6, 9, 13, 0)
    assert not OFFICE.is_open(utc(2025, 6, 7, 15, 0))  # Saturday 11:00


def test_office_hours_across_spring_forward():
    # Fri 7 Mar 2025 is EST, Mon 10 Mar is EDT: 09:00 local moves from 14:00Z to 13:00Z.
    assert OFFICE.next_open(utc(2025, 3, 7, 1, 0)) == utc(2025, 3, 7, 14, 0)
    assert OFFICE.next_open(utc(2025, 3, 7, 23, 30)) == utc(2025, 3, 10, 13, 0)
    assert OFFICE.closes_at(utc(2025, 3, 10, 13, 0)) == utc(2025, 3, 10, 22, 0)


def test_only_one_day_allowed():
    wed = window((9, 0), (18, 0), {WED})
    assert wed.next_open(utc(2025, 6, 5, 14, 0)) == utc(2025, 6, 11, 13, 0)  # Thu -> next Wed
    assert wed.next_open(utc(2025, 6, 4, 12, 0)) == utc(2025, 6, 4, 13, 0)  # same Wed, later
    assert not wed.is_open(utc(2025, 6, 5, 14, 0))


def test_midnight_crossing_belongs_to_its_start_day():
    friday_night = window((20, 0), (2, 0), {FRI})
    assert friday_night.is_open(utc(2025, 6, 7, 5, 0))  # Sat 01:00 EDT, window began Friday
    assert friday_night.closes_at(utc(2025, 6, 7, 5, 0)) == utc(2025, 6, 7, 6, 0)  # Sat 02:00 EDT
    assert not friday_night.is_open(utc(2025, 6, 7, 6, 0))
    assert not friday_night.is_open(utc(2025, 6, 8, 1, 0))  # Sat 21:00: Saturday is not allowed
    assert not friday_night.is_open(utc(2025, 6, 6, 5, 0))  # Fri 01:00: Thursday's night
    assert friday_night.next_open(utc(2025, 6, 7, 6, 0)) == utc(2025, 6, 14, 0, 0)  # next Fri 20:00


# --- DST: spring-forward gaps open at the first real instant after the gap ---

def test_start_in_new_york_gap():
    w = window((2, 30), (4, 0))  # 9 Mar 2025: 02:00 EST jumps to 03:00 EDT
    assert w.next_open(utc(2025, 3, 9, 5, 0)) == utc(2025, 3, 9, 7, 0)  # 03:00 EDT
    assert w.closes_at(utc(2025, 3, 9, 7, 0)) == utc(2025, 3, 9, 8, 0)  # 04:00 EDT
    assert not w.is_open(utc(2025, 3, 9, 6, 59, 59))
    assert w.next_open(utc(2025, 3, 8, 0, 0)) == utc(2025, 3, 8, 7, 30)  # day before: 02:30 EST


def test_window_inside_gap_is_empty_that_day():
    w = window((2, 10), (2, 50), {SUN})  # Sunday 9 Mar 2025 has no 02:10-02:50
    assert not w.is_open(utc(2025, 3, 9, 7, 0))
    assert w.next_open(utc(2025, 3, 8, 12, 0)) == utc(2025, 3, 16, 6, 10)


def test_start_in_lisbon_gap():
    w = window((1, 15), (8, 0), {SUN}, LISBON)  # 30 Mar 2025: 01:00 WET jumps to 02:00 WEST
    assert w.next_open(utc(2025, 3, 29, 12, 0)) == utc(2025, 3, 30, 1, 0)  # 02:00 WEST
    assert w.closes_at(utc(2025, 3, 30, 1, 0)) == utc(2025, 3, 30, 7, 0)


def test_midnight_crossing_into_sydney_gap():
    # Sat 4 Oct 2025 22:00 AEST to Sun 5 Oct 03:00 AEDT (02:00 AEST jumped to 03:00 AEDT).
    w = window((22, 0), (3, 0), {SAT}, SYDNEY)
    assert w.next_open(utc(2025, 10, 4, 0, 0)) == utc(2025, 10, 4, 12, 0)
    assert w.is_open(utc(2025, 10, 4, 15, 0))  # Sun 01:00 AEST, window began Saturday
    assert w.closes_at(utc(2025, 10, 4, 12, 0)) == utc(2025, 10, 4, 16, 0)  # 4 real hours
    assert not w.is_open(utc(2025, 10, 5, 11, 30))  # Sun 22:30 AEDT: Sunday is not allowed


def test_windows_touching_across_a_gap_close_together():
    # 03:00-02:30 daily: on 9 Mar 2025 Saturday's window ends at 02:30 -> 03:00 EDT, exactly when
    # Sunday's opens, so the window stays open until Monday 02:30 EDT.
    w = window((3, 0), (2, 30))
    assert w.closes_at(utc(2025, 3, 9, 6, 0)) == utc(2025, 3, 10, 6, 30)
    assert w.is_open(utc(2025, 3, 9, 7, 0))


# --- DST: fall-back overlaps use the first occurrence (fold=0) for start and end ---

def test_start_in_new_york_overlap_uses_first_occurrence():
    w = window((1, 30), (3, 0))  # 2 Nov 2025: 02:00 EDT falls back to 01:00 EST
    assert w.next_open(utc(2025, 11, 2, 4, 0)) == utc(2025, 11, 2, 5, 30)  # 01:30 EDT
    assert w.closes_at(utc(2025, 11, 2, 5, 30)) == utc(2025, 11, 2, 8, 0)  # 03:00 EST


def test_end_in_new_york_overlap_closes_at_first_occurrence():
    w = window((0, 30), (1, 30))
    assert w.closes_at(utc(2025, 11, 2, 5, 0)) == utc(2025, 11, 2, 5, 30)  # 01:30 EDT
    assert not w.is_open(utc(2025, 11, 2, 6, 15))  # 01:15 EST, the repeated hour stays closed


def test_lisbon_overlap():
    w = window((1, 30), (9, 0), {SUN}, LISBON)  # 26 Oct 2025: 02:00 WEST falls back to 01:00 WET
    assert w.next_open(utc(2025, 10, 25, 12, 0)) == utc(2025, 10, 26, 0, 30)  # 01:30 WEST
    assert w.closes_at(utc(2025, 10, 26, 0, 30)) == utc(2025, 10, 26, 9, 0)


def test_sydney_midnight_crossing_into_overlap():
    # Sat 5 Apr 2025 22:00 AEDT to Sun 6 Apr 02:30, first occurrence (AEDT); 03:00 AEDT -> 02:00 AEST.
    w = window((22, 0), (2, 30), {SAT}, SYDNEY)
    assert w.next_open(utc(2025, 4, 5, 0, 0)) == utc(2025, 4, 5, 11, 0)
    assert w.closes_at(utc(2025, 4, 5, 11, 0)) == utc(2025, 4, 5, 15, 30)
    assert not w.is_open(utc(2025, 4, 5, 16, 15))  # 02:15 AEST, second pass


def test_invalid_windows():
    with pytest.raises(ValueError):
        window((9, 0), (9, 0))
    with pytest.raises(ValueError):
        window((9, 0), (18, 0), set())
    with pytest.raises(ValueError):
        window((9, 0), (18, 0), {7})
    with pytest.raises(ZoneInfoNotFoundError):
        window((9, 0), (18, 0), tz="Mars/Olympus")
    with pytest.raises(ValueError):
        OFFICE.is_open(datetime(2025, 6, 2, 13, 0))  # naive
