"""Calls-per-second pacing shared by every dialer on one Twilio account.

The account's recent send times live in the store; each dialer asks this rule when it may
send next. Pure: the caller passes the recent sends and `now` (the store passes the
database's clock, read under the pacing lock, so hosts whose clocks differ agree on it).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

# Requests reach Twilio a few milliseconds after we decide to send them, not always equally
# late; the margin keeps the busiest second within the limit despite that jitter.
MARGIN = timedelta(milliseconds=30)


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


def next_send_at(recent: list[datetime], now: datetime, cps: float) -> datetime:
    """The earliest moment, not before `now`, at which one more call keeps the rate.

    Two limits: at most `burst` sends in any sliding `window` (plus MARGIN), and sends spread
    `window / burst` apart. Spreading costs no throughput, but keeps a dialer fleet from firing
    a whole burst at once: simultaneous requests reach Twilio in a jittered order, and that
    jitter is what could put one call too many into someone's 1-second window.
    """
    if not recent:
        return now
    burst, window = burst_and_window(cps)
    recent = sorted(recent)
    at = recent[-1] + window / burst
    if len(recent) >= burst:
        at = max(at, recent[-burst] + window + MARGIN)
    return max(now, at)


def record_send(recent: list[datetime], at: datetime, cps: float) -> list[datetime]:
    """The send times worth keeping after a send at `at`."""
    burst, _ = burst_and_window(cps)
    return sorted([*recent, at])[-burst:]
