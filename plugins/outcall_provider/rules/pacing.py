"""Calls-per-second pacing shared by every dialer on one Twilio account.

The account's send slots live in the store; each dialer books the next free slot there and
sleeps until it. Pure: the caller passes the booked slots and `now` (the store passes the
database's clock, read under the pacing lock, so hosts whose clocks differ agree on it).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

# Requests reach Twilio some milliseconds after their slot, not always equally late: a stall
# of the host or of Twilio's end holds up the calls in flight, and they then arrive bunched
# with the calls booked a window after them. The margin keeps that much of every window
# empty. The more calls a window holds, the more often a stall meets one in flight: each call
# adds a little, up to MAX_MARGIN (the rate must stay usable: 50 ms costs 1/21 of it).
# 5 calls/s: 31.5 ms; 50 calls/s: 45 ms.
MARGIN = timedelta(milliseconds=30)
MARGIN_PER_CALL = timedelta(milliseconds=0.3)
MAX_MARGIN = timedelta(milliseconds=50)

# A dialer's first call is slower on its way to Twilio than the ones after it (the process's
# first queries and first create request), by far more than the margin when a whole fleet
# starts at once: its slot holds this much more room behind it. A fleet of 16 starting
# together thus spreads its first calls over about 1 s instead of 0.3 s.
COLD = timedelta(milliseconds=40)

# A dialer that wakes later than this after its booked slot gives the slot up and books
# another: sent that late, its call could arrive together with the next window's calls.
LATE = timedelta(milliseconds=10)


def burst_and_window(cps: float) -> tuple[int, timedelta]:
    """At most `burst` sends in any sliding `window`: 5 cps → 5 per 1 s; 2.5 cps → 2 per 1 s;
    0.5 cps → 1 per 2 s.

    "Never above `cps` in any 1-second window" allows only whole calls: 3 calls inside one
    second would be 3/s, so a fractional rate above 1 is floored for every second (spreading
    2.5/s evenly, 0.4 s apart, puts 3 calls in some second). Below 1 call/s one call waits
    1/cps seconds after the previous one.
    """
    if cps <= 0:
        raise ValueError(f"calls_per_second must be positive, got {cps}")
    if cps < 1:
        return 1, timedelta(seconds=1 / cps)
    return math.floor(cps), timedelta(seconds=1)


def margin(cps: float) -> timedelta:
    """The part of every window left empty for the way from a slot to Twilio (see MARGIN)."""
    burst, _ = burst_and_window(cps)
    return min(MARGIN + burst * MARGIN_PER_CALL, MAX_MARGIN)


def next_send_at(recent: list[datetime], now: datetime, cps: float) -> datetime:
    """The earliest moment, not before `now`, at which one more call keeps the rate; `recent`
    may hold slots booked ahead.

    Two limits: at most `burst` sends in any sliding `window` (plus the margin), and sends
    spread `window / burst` apart. Spreading costs no throughput, but keeps a dialer fleet
    from firing a whole burst at once: simultaneous requests reach Twilio in a jittered order,
    and that jitter is what could put one call too many into someone's 1-second window.
    """
    if not recent:
        return now
    burst, window = burst_and_window(cps)
    recent = sorted(recent)
    at = recent[-1] + window / burst
    if len(recent) >= burst:
        at = max(at, recent[-burst] + window + margin(cps))
    return max(now, at)


def record_send(recent: list[datetime], at: datetime, cps: float) -> list[datetime]:
    """The slots worth keeping after booking one at `at`: every one that can still limit a
    later slot (within a window and the margin of the newest), so that giving one up
    (`give_up`) never hides an older send from the rule."""
    _, window = burst_and_window(cps)
    slots = sorted([*recent, at])
    return [t for t in slots if t > slots[-1] - window - margin(cps)]


def held_until(slot: datetime, first: bool) -> datetime:
    """What a slot counts as in the record: its own moment, or COLD later for a dialer's first
    call, so that the slots booked after it leave room for that call arriving late."""
    return slot + COLD if first else slot


def give_up(recent: list[datetime], slot: datetime) -> list[datetime]:
    """The slots without one its dialer will not use (woke too late for it): a call not
    made never breaks the rate, and the room goes to the next booking."""
    kept = sorted(recent)
    if slot in kept:
        kept.remove(slot)
    return kept


def on_time(slot: datetime, booked: datetime, slept: float) -> bool:
    """Whether a dialer that booked `slot` at `booked` and has slept `slept` seconds since may
    still send in it (it never wakes before the slot)."""
    return booked + timedelta(seconds=slept) <= slot + LATE
