"""Caller-ID choice: which pool number calls a callee. Area codes of the numbers used here:
212 New York, 213 Los Angeles, 305 / 407 / 954 Florida, 206 Washington, 512 Texas."""
import pytest

from outcall_provider.rules.caller_id import CallerChoice, choose
from outcall_provider.rules.state_rules import area_code_states

pytestmark = pytest.mark.unit

NYC, LAX = "+12125550100", "+12135550100"
MIAMI, MIAMI_2, ORLANDO = "+13055550100", "+13055550101", "+14075550100"
POOL = (NYC, MIAMI, ORLANDO, LAX)


def pick(callee, states=None, calls=None, cap=None, strategy="local", pool=POOL):
    states = area_code_states(callee) if states is None else states
    return choose(pool, strategy, callee, states, calls or {}, cap, area_code_states)


@pytest.mark.parametrize("callee, states, calls, expected", [
    # the callee's own area code first
    ("+13055550123", None, {}, CallerChoice(MIAMI, "local: area code 305 (0 calls today)")),
    ("+12125550123", None, {NYC: 7, LAX: 0}, CallerChoice(NYC, "local: area code 212 (7 calls today)")),
    # else a number of the callee's state (954 is Florida: Miami and Orlando qualify)
    ("+19545550123", None, {}, CallerChoice(MIAMI, "local: state FL (0 calls today)")),
    ("+19545550123", None, {MIAMI: 3, ORLANDO: 1}, CallerChoice(ORLANDO, "local: state FL (1 calls today)")),
    # the lead's states are what the clock says (a `state` column), not only the callee's area code
    ("+15125550123", ("FL",), {}, CallerChoice(MIAMI, "local: state FL (0 calls today)")),
    ("+12125550123", ("FL", "TX"), {NYC: 0}, CallerChoice(NYC, "local: area code 212 (0 calls today)")),
    # else any number, fewest calls today
    ("+12065550123", None, {NYC: 4, MIAMI: 2, ORLANDO: 2, LAX: 3},
     CallerChoice(MIAMI, "local: no number of the callee's area code or state; any (2 calls today)")),
    ("+15125550123", None, {},
     CallerChoice(NYC, "local: no number of the callee's area code or state; any (0 calls today)")),
])
def test_local(callee, states, calls, expected):
    assert pick(callee, states, calls) == expected


@pytest.mark.parametrize("pool, calls, expected", [
    ((NYC, MIAMI, MIAMI_2, LAX), {}, MIAMI),                       # tie: pool order
    ((NYC, MIAMI_2, MIAMI, LAX), {}, MIAMI_2),
    ((NYC, MIAMI, MIAMI_2, LAX), {MIAMI: 5, MIAMI_2: 4}, MIAMI_2),  # fewest calls today
    ((NYC, MIAMI, MIAMI_2, LAX), {MIAMI: 4, MIAMI_2: 4}, MIAMI),    # tie again
    ((NYC, MIAMI_2, MIAMI, LAX), {MIAMI: 4, MIAMI_2: 4}, MIAMI_2),
    ((NYC, MIAMI, MIAMI_2, LAX), {MIAMI: 9, MIAMI_2: 9, NYC: 0}, MIAMI),  # the area code beats fewer calls
])
def test_fewest_calls_today_wins_ties_by_pool_order(pool, calls, expected):
    assert pick("+13055550123", calls=calls, pool=pool).number == expected


@pytest.mark.parametrize("calls, expected", [
    # the area code's number is full: the state's next
    ({MIAMI: 50}, CallerChoice(ORLANDO, "local: state FL (0 calls today)")),
    # every Florida number is full: any other
    ({MIAMI: 50, ORLANDO: 60, NYC: 49},
     CallerChoice(LAX, "local: no number of the callee's area code or state; any (0 calls today)")),
    ({MIAMI: 50, ORLANDO: 50, NYC: 49, LAX: 49},
     CallerChoice(NYC, "local: no number of the callee's area code or state; any (49 calls today)")),
    # one below the cap is not full
    ({MIAMI: 49}, CallerChoice(MIAMI, "local: area code 305 (49 calls today)")),
])
def test_the_daily_cap_skips_full_numbers(calls, expected):
    assert pick("+13055550123", calls=calls, cap=50) == expected


@pytest.mark.parametrize("strategy", ["local", "round_robin"])
def test_every_number_full(strategy):
    calls = {NYC: 50, MIAMI: 51, ORLANDO: 50, LAX: 50}
    assert pick("+13055550123", calls=calls, cap=50, strategy=strategy) == CallerChoice(
        None, "every caller ID of the pool made its 50 calls today")


def test_no_cap_means_never_full():
    calls = {NYC: 10_000, MIAMI: 10_000, ORLANDO: 10_000, LAX: 10_000}
    assert pick("+13055550123", calls=calls) == CallerChoice(MIAMI, "local: area code 305 (10000 calls today)")


@pytest.mark.parametrize("callee, calls, cap, expected", [
    ("+13055550123", {}, None, CallerChoice(NYC, "round_robin (0 calls today)")),  # not Miami: area codes ignored
    ("+13055550123", {NYC: 3, MIAMI: 3, ORLANDO: 2, LAX: 2}, None,
     CallerChoice(ORLANDO, "round_robin (2 calls today)")),
    ("+13055550123", {NYC: 3, MIAMI: 3, ORLANDO: 5, LAX: 5}, 5, CallerChoice(NYC, "round_robin (3 calls today)")),
    ("+442079460000", {NYC: 1}, None, CallerChoice(MIAMI, "round_robin (0 calls today)")),
])
def test_round_robin(callee, calls, cap, expected):
    assert pick(callee, calls=calls, cap=cap, strategy="round_robin") == expected


@pytest.mark.parametrize("callee", ["+442079460000", "+351912345678"])
def test_a_non_us_callee_gets_any_number(callee):
    # No NANP area code and no US state: the fewest calls of the whole pool.
    assert pick(callee) == CallerChoice(NYC, "local: no number of the callee's area code or state; any (0 calls today)")
    assert pick(callee, calls={NYC: 2, MIAMI: 1, ORLANDO: 1}).number == LAX


def test_a_non_us_pool_number_is_never_local():
    london = "+442079460001"
    pool = (london, NYC)
    assert choose(pool, "local", "+12125550123", ("NY",), {}, None, area_code_states) == CallerChoice(
        NYC, "local: area code 212 (0 calls today)")
    assert choose(pool, "local", "+442079460000", (), {}, None, area_code_states) == CallerChoice(
        london, "local: no number of the callee's area code or state; any (0 calls today)")
