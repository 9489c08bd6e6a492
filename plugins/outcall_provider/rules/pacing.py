"""Calls-per-second pacing shared by every dialer on one Twilio account.

The account's recent send times live in the store; each dialer asks this rule when it may
send next. Pure: the caller passes the recent sends and `now`.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

# Requests reach Twilio a few milliseconds after we decide to send them, not always equally
# late; the margin keeps the busiest second within the limit despite that jitter.
MARGIN = timedelta(milliseconds=30)


def burst_and_window(cps: float) -> tuple[int, timedelta]:
    """At most `burst` sends in any `window`: 5 cps → 5 per 1 s; 0.5 cps → 1 per 2 s."""
    if cps <= 0:
        raise ValueError(f"calls_per_second must be positive, got {cps}")
    burst = max(1, math.floor(cps))
    return burst, timedelta(seconds=burst / cps)


def next_send_at(recent: list[datetime], now: datetime, cps: float) -> datetime:
    """The earliest moment, not before `now`, at which one more call keeps the rate."""
    burst, window = burst_and_window(cps)
    if len(recent) < burst:
        return now
    oldest_that_counts = sorted(recent)[-burst]
    return max(now, oldest_that_counts + window + MARGIN)


def record_send(recent: list[datetime], at: datetime, cps: float) -> list[datetime]:
    """The send times worth keeping after a send at `at`."""
    burst, _ = burst_and_window(cps)
    return sorted([*recent, at])[-burst:]
