from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.pacing import MARGIN, burst_and_window, next_send_at, record_send

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def ms(n):
    return timedelta(milliseconds=n)


def most_in_any_window(sends: list[datetime], width: timedelta) -> int:
    """The busiest sliding window [t, t + width): its busiest start is always one of the sends."""
    sends = sorted(sends)
    return max(sum(1 for s in sends[i:] if s < start + width) for i, start in enumerate(sends))


def greedy_dialer(cps: float, n: int, wake_ms: list[int]) -> list[datetime]:
    """A dialer that always wants to send, waking after each send with the given delays."""
    recent, sends, now = [], [], T0
    for i in range(n):
        at = next_send_at(recent, now, cps)
        sends.append(at)
        recent = record_send(recent, at, cps)
        now = at + ms(wake_ms[i % len(wake_ms)])
    return sends


# A rate of 2.5 calls/s can only be honoured in every 1-second window by at most 2 whole calls
# in it (3 calls in one second would be 3/s), so fractional rates are floored for each second;
# below 1 call/s a single call waits 1/cps seconds after the previous one.
@pytest.mark.parametrize("cps, burst, window_s", [
    (1, 1, 1.0), (5, 5, 1.0), (0.5, 1, 2.0), (2.5, 2, 1.0), (1.5, 1, 1.0), (7.9, 7, 1.0), (0.25, 1, 4.0)])
def test_burst_and_window(cps, burst, window_s):
    assert burst_and_window(cps) == (burst, timedelta(seconds=window_s))


def test_rejects_a_non_positive_rate():
    with pytest.raises(ValueError, match="calls_per_second must be positive"):
        burst_and_window(0)


def test_the_first_send_goes_at_once():
    assert next_send_at([], T0, 5) == T0 and next_send_at([], T0, 0.5) == T0


def test_sends_at_once_when_spaced_and_the_burst_is_not_used_up():
    assert next_send_at([T0, T0 + ms(100)], T0 + ms(350), 5) == T0 + ms(350)


def test_sends_are_spread_instead_of_fired_as_one_burst():
    # 5 calls/s: one call every 200 ms, never 5 requests racing to Twilio at the same moment
    assert next_send_at([T0, T0 + ms(100)], T0 + ms(120), 5) == T0 + ms(300)
    assert next_send_at([T0], T0, 2.5) == T0 + ms(500)


def test_waits_for_the_oldest_send_of_the_window_to_age_out():
    recent = [T0 + ms(i * 100) for i in range(5)]
    assert next_send_at(recent, T0 + ms(500), 5) == T0 + timedelta(seconds=1) + MARGIN


def test_a_fractional_rate_waits_a_whole_second_after_its_burst():
    # 2.5 calls/s: two calls at once, the third only once the first is a second old.
    assert next_send_at([T0, T0 + ms(10)], T0 + ms(20), 2.5) == T0 + timedelta(seconds=1) + MARGIN


@pytest.mark.parametrize("cps", [1, 2.5, 5, 7.9, 10, 1.5])
@pytest.mark.parametrize("wake_ms", [[7], [0], [3, 450, 0, 990, 12], [1001, 0, 0]])
def test_no_sliding_one_second_window_ever_holds_more_than_the_rate(cps, wake_ms):
    sends = greedy_dialer(cps, 300, wake_ms)
    assert most_in_any_window(sends, timedelta(seconds=1)) <= int(cps)  # 2.5 → at most 2 calls


@pytest.mark.parametrize("cps", [1, 2.5, 5, 10])
def test_a_busy_dialer_uses_the_whole_rate(cps):
    sends = greedy_dialer(cps, 300, [0])
    span = (sends[-1] - sends[0]).total_seconds()
    assert (len(sends) - 1) / span / int(cps) >= 0.95
    gaps = [b - a for a, b in zip(sends, sends[1:])]
    assert min(gaps) >= timedelta(seconds=1 / int(cps))  # evenly spread, no burst at once


@pytest.mark.parametrize("cps", [0.5, 0.25])
def test_below_one_call_per_second_calls_are_spaced_by_one_over_the_rate(cps):
    sends = greedy_dialer(cps, 50, [0, 300])
    assert most_in_any_window(sends, timedelta(seconds=1 / cps)) == 1
    assert most_in_any_window(sends, timedelta(seconds=1)) == 1


def test_many_dialers_sharing_one_record_never_exceed_the_rate():
    # three dialers take turns on one shared record (what the store's row lock serialises);
    # each reads the database's clock after the previous one let go, so `now` never goes back
    recent, sends, wakes = [], [T0], [T0, T0 + ms(3), T0 + ms(400)]
    for i in range(300):
        who = i % 3
        at = next_send_at(recent, max(wakes[who], sends[-1]), 2.5)
        sends.append(at)
        recent = record_send(recent, at, 2.5)
        wakes[who] = at + ms(17 * who)
    assert most_in_any_window(sends[1:], timedelta(seconds=1)) <= 2
