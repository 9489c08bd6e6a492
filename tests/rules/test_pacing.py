from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.pacing import (
    COLD,
    LATE,
    MAX_MARGIN,
    burst_and_window,
    give_up,
    held_until,
    margin,
    next_send_at,
    on_time,
    record_send,
)

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
    assert next_send_at(recent, T0 + ms(500), 5) == T0 + timedelta(seconds=1) + margin(5)


def test_a_fractional_rate_waits_a_whole_second_after_its_burst():
    # 2.5 calls/s: two calls at once, the third only once the first is a second old.
    assert next_send_at([T0, T0 + ms(10)], T0 + ms(20), 2.5) == T0 + timedelta(seconds=1) + margin(2.5)


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


def test_the_margin_grows_with_the_calls_a_window_holds_but_leaves_the_rate_usable():
    assert margin(5) == timedelta(milliseconds=31.5) and margin(50) == timedelta(milliseconds=45)
    assert margin(0.5) < margin(5) < margin(50) < margin(100) == margin(1000) == MAX_MARGIN
    assert 1 / (1 + margin(50).total_seconds()) >= 0.95  # the share of the rate still usable


def booking_fleet(cps: float, n: int, late_ms: list[int]) -> list[datetime]:
    """Dialers that book slots ahead (what the store's row lock serialises) and wake late by the
    given delays in turn: the moments of the calls actually sent."""
    recent, sent, now = [], [], T0
    for i in range(n):
        slot = next_send_at(recent, now, cps)
        recent = record_send(recent, slot, cps)
        woke = slot + ms(late_ms[i % len(late_ms)])
        if on_time(slot, slot, (woke - slot).total_seconds()):
            sent.append(woke)
        else:  # too late: the slot goes back, the dialer books again (next turn)
            recent = give_up(recent, slot)
        now = max(now, slot - ms(300))  # the fleet books about 300 ms ahead of its slots
    return sent


@pytest.mark.parametrize("cps", [5, 50])
@pytest.mark.parametrize("late_ms", [[0], [0, 9, 0, 4], [0, 0, 400, 0, 10, 11, 0]])
def test_calls_sent_up_to_late_after_their_slots_never_exceed_the_rate(cps, late_ms):
    sent = booking_fleet(cps, 400, late_ms)
    assert most_in_any_window(sent, timedelta(seconds=1)) <= cps
    # and on its way to Twilio, a call may still fall behind the others by the rest of the margin
    worst_case = [t if i % 7 else t + margin(cps) - LATE - ms(1) for i, t in enumerate(sent)]
    assert most_in_any_window(worst_case, timedelta(seconds=1)) <= cps


def test_a_booking_fleet_uses_the_rate_less_its_margin():
    sent = booking_fleet(50, 1000, [0, 3])
    span = (sent[-1] - sent[0]).total_seconds()
    assert (len(sent) - 1) / span / 50 >= 1 / (1 + margin(50).total_seconds()) - 0.001 >= 0.95


def test_a_slot_given_up_makes_room_for_the_next_booking():
    recent = [T0 + ms(i * 20) for i in range(50)]  # 50 calls/s: a full window booked
    full = next_send_at(recent, T0, 50)
    assert full == T0 + timedelta(seconds=1) + margin(50)
    freed = give_up(recent, T0 + ms(400))
    assert next_send_at(freed, T0, 50) == T0 + ms(49 * 20 + 20)  # spacing only: one call fewer
    assert give_up(freed, T0 + ms(400)) == freed  # not booked (any more): nothing to give up


def test_record_send_keeps_every_slot_that_can_limit_a_later_one():
    recent = [T0 + ms(i * 20) for i in range(80)]
    kept = record_send(recent, T0 + ms(1600), 50)
    assert kept[-1] == T0 + ms(1600) and kept[0] > T0 + ms(1600) - timedelta(seconds=1) - margin(50)
    assert len(kept) > 50  # more than one window's worth: giving one up leaves the rule its view
    assert record_send([T0], T0 + timedelta(seconds=2), 0.5) == [T0, T0 + timedelta(seconds=2)]


def test_on_time_until_late_after_the_slot():
    booked, slot = T0, T0 + ms(200)
    assert on_time(slot, booked, 0.2) and on_time(slot, booked, 0.2 + LATE.total_seconds())
    assert not on_time(slot, booked, 0.2 + LATE.total_seconds() + 0.001)


def test_a_dialers_first_call_holds_more_room_behind_it():
    # recorded COLD later than it is sent: the calls booked after it leave room for it arriving late
    assert held_until(T0, first=True) == T0 + COLD and held_until(T0, first=False) == T0
    recent = record_send([], held_until(T0, first=True), 50)
    assert next_send_at(recent, T0, 50) == T0 + COLD + ms(20)
