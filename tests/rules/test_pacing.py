from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.pacing import MARGIN, burst_and_window, next_send_at, record_send

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def ms(n):
    return timedelta(milliseconds=n)


@pytest.mark.parametrize("cps, burst, window_s", [(1, 1, 1.0), (5, 5, 1.0), (0.5, 1, 2.0), (2.5, 2, 0.8)])
def test_burst_and_window(cps, burst, window_s):
    assert burst_and_window(cps) == (burst, timedelta(seconds=window_s))


def test_rejects_a_non_positive_rate():
    with pytest.raises(ValueError, match="calls_per_second must be positive"):
        burst_and_window(0)


def test_sends_at_once_while_the_burst_is_not_used_up():
    assert next_send_at([T0, T0 + ms(100)], T0 + ms(200), 5) == T0 + ms(200)


def test_waits_for_the_oldest_send_of_the_window_to_age_out():
    recent = [T0 + ms(i * 100) for i in range(5)]
    assert next_send_at(recent, T0 + ms(500), 5) == T0 + timedelta(seconds=1) + MARGIN


def test_no_one_second_window_ever_holds_more_than_the_rate():
    recent, sends, now = [], [], T0
    for _ in range(200):  # a dialer that always wants to send, at whatever moment it wakes
        at = next_send_at(recent, now, 5)
        sends.append(at)
        recent = record_send(recent, at, 5)
        now = at + ms(7)
    for i, start in enumerate(sends):
        assert sum(1 for s in sends[i:] if s < start + timedelta(seconds=1)) <= 5
    span = (sends[-1] - sends[0]).total_seconds()
    assert len(sends) / span / 5 >= 0.95
