"""Compliance rules tests: callee hours, state rules, caps and every reason a lead is held.
Expected instants are in UTC, worked out by hand from 2026 offsets: New York EST -5, Chicago
CST -6, Los Angeles PST -8 (all dates here are in late November, after the 2026-11-01 switch).
2026-11-25 is a Wednesday, 2026-11-28 a Saturday, 2026-11-29 a Sunday."""
from datetime import datetime, time, timedelta, timezone

import pytest

from outcall_provider.rules.callee_time import RecipientHours
from outcall_provider.rules.compliance import (
    CalleeClock,
    Compliance,
    FrequencyCap,
    HoursCheck,
    LeadFacts,
    check_hours,
    format_period,
    hold_reasons,
    longest_cap_period,
    never_allowed,
    next_allowed,
    number_caps,
    parse_period,
)
from outcall_provider.rules.state_rules import StateRules
from outcall_provider.rules.states import HoldReason
from outcall_provider.rules.window import CallingWindow

pytestmark = pytest.mark.unit

NY, CHI, LA = "America/New_York", "America/Chicago", "America/Los_Angeles"
RULES = StateRules.shipped()
SECOND = timedelta(seconds=1)
HOURS, DAYS = timedelta(hours=1), timedelta(days=1)
FL_SOURCE = "Fla. Stat. 501.616(6) http://www.lawserver.com/law/state/florida/statutes/florida_statutes_501-616"

FEDERAL = Compliance()
NO_HOURS = Compliance(recipient_hours=None, reason="calls the callee asked for, at any hour")

NY_CA = CalleeClock(1, (LA, NY), ("CA", "NY"), "numbers: phonenumbers")
FLORIDA = CalleeClock(2, (NY,), ("FL",), "numbers: phonenumbers")
TEXAS = CalleeClock(3, (CHI,), ("TX",), "numbers: phonenumbers")
NOWHERE = CalleeClock(4, (), (), "no zone known")
NOWHERE_FL = CalleeClock(5, (), ("FL",), "no zone known")
# A New York, a UK and a Guam number: the law's 08:00-21:00 never holds in all three at once.
NY_UK_GUAM = CalleeClock(6, (NY, "Europe/London", "Pacific/Guam"), ("NY",), "numbers: phonenumbers")


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def hours(text):
    return Compliance(recipient_hours=RecipientHours.parse(text))


def capped(calls, per):
    return Compliance(max_calls_per_number=FrequencyCap(calls, per, "campaign"))


# --- check_hours ---------------------------------------------------------------------------------

def test_a_clock_in_two_zones_waits_for_the_later_one():
    # 10:59 New York is 07:59 Los Angeles: held, naming the zone that is too early.
    assert check_hours(FEDERAL, RULES, NY_CA, utc(2026, 11, 25, 15, 59)) == HoursCheck(
        HoldReason.RECIPIENT_HOURS, "callee local time 07:59 America/Los_Angeles is before 08:00",
        {LA: "2026-11-25 07:59:00 PST", NY: "2026-11-25 10:59:00 EST"})
    # 11:00 New York is 08:00 Los Angeles: allowed, with every zone's local time for the audit.
    assert check_hours(FEDERAL, RULES, NY_CA, utc(2026, 11, 25, 16, 0)) == HoursCheck(
        None, "", {LA: "2026-11-25 08:00:00 PST", NY: "2026-11-25 11:00:00 EST"})


def test_a_clock_in_two_zones_closes_with_the_earlier_one():
    # 21:00 New York is 18:00 Los Angeles.
    check = check_hours(FEDERAL, RULES, NY_CA, utc(2026, 11, 26, 2, 0))
    assert (check.hold, check.why) == (HoldReason.RECIPIENT_HOURS,
                                       "callee local time 21:00 America/New_York is at or after 21:00")


def test_narrower_recipient_hours_are_the_campaigns_own():
    check = check_hours(hours("09:00-17:00"), RULES, NY_CA, utc(2026, 11, 25, 16, 30))  # 08:30 Los Angeles
    assert (check.hold, check.why) == (HoldReason.RECIPIENT_HOURS,
                                       "callee local time 08:30 America/Los_Angeles is before 09:00")


def test_a_state_rule_holds_even_without_recipient_hours():
    # recipient_hours: null switches off the federal hours, not Florida's 08:00-20:00.
    at_2000 = utc(2026, 11, 26, 1, 0)  # Wednesday 20:00 EST
    assert check_hours(NO_HOURS, RULES, FLORIDA, at_2000) == HoursCheck(
        HoldReason.STATE_RULE,
        "Florida (FL) allows 08:00-20:00; callee local time 20:00 America/New_York (Fla. Stat. 501.616(6))", {})
    assert check_hours(NO_HOURS, RULES, FLORIDA, at_2000 - SECOND).hold is None
    # Under the federal hours 20:00 is fine, so the state rule is what holds it, with local times.
    check = check_hours(FEDERAL, RULES, FLORIDA, at_2000)
    assert (check.hold, check.local_times) == (HoldReason.STATE_RULE, {NY: "2026-11-25 20:00:00 EST"})


@pytest.mark.parametrize("compliance, clock", [(FEDERAL, NOWHERE), (NO_HOURS, NOWHERE_FL), (FEDERAL, NOWHERE_FL)])
def test_a_clock_without_zones_is_held_until_the_lead_says_where(compliance, clock):
    assert check_hours(compliance, RULES, clock, utc(2026, 11, 25, 16, 0)) == HoursCheck(
        HoldReason.RECIPIENT_HOURS,
        "no time zone is known for this lead's numbers; give it a timezone, state or postal_code column", {})


def test_a_clock_without_zones_is_called_when_nothing_needs_a_zone():
    assert check_hours(NO_HOURS, RULES, NOWHERE, utc(2026, 11, 25, 3, 0)) == HoursCheck(None, "", {})


# --- next_allowed --------------------------------------------------------------------------------

@pytest.mark.parametrize("compliance, clock, now, expected", [
    # Texas on Sunday: federal 08:00 Central, but Texas not before 12:00 Central.
    (FEDERAL, TEXAS, utc(2026, 11, 29, 13, 0), utc(2026, 11, 29, 18, 0)),        # Sunday 07:00 CST -> 12:00
    (FEDERAL, TEXAS, utc(2026, 11, 29, 15, 0), utc(2026, 11, 29, 18, 0)),        # Sunday 09:00 CST -> 12:00
    # Saturday 20:30 Central: the campaign's hours closed at 20:00 (Texas allows 21:00); Sunday 08:00
    # opens the campaign's hours, Texas waits for 12:00.
    (hours("08:00-20:00"), TEXAS, utc(2026, 11, 29, 2, 30), utc(2026, 11, 29, 18, 0)),
    # Monday 08:30 Central: Texas opens at 09:00, the campaign's hours at 10:00.
    (hours("10:00-20:00"), TEXAS, utc(2026, 11, 30, 14, 30), utc(2026, 11, 30, 16, 0)),
    # Two zones: 10:00 New York, 07:00 Los Angeles -> 08:00 Los Angeles.
    (FEDERAL, NY_CA, utc(2026, 11, 25, 15, 0), utc(2026, 11, 25, 16, 0)),
    # Florida 20:00 New York without recipient hours: Florida opens again at 08:00.
    (NO_HOURS, FLORIDA, utc(2026, 11, 26, 1, 0), utc(2026, 11, 26, 13, 0)),
    # Already allowed: now itself.
    (FEDERAL, TEXAS, utc(2026, 11, 29, 19, 0), utc(2026, 11, 29, 19, 0)),
    (NO_HOURS, NOWHERE, utc(2026, 11, 29, 3, 0), utc(2026, 11, 29, 3, 0)),
])
def test_next_allowed(compliance, clock, now, expected):
    got = next_allowed(compliance, RULES, clock, now)
    assert got == expected
    assert check_hours(compliance, RULES, clock, got).hold is None
    if got > now:
        assert check_hours(compliance, RULES, clock, got - SECOND).hold is not None


@pytest.mark.parametrize("compliance, clock", [(FEDERAL, NOWHERE), (NO_HOURS, NOWHERE_FL)])
def test_next_allowed_never_without_zones(compliance, clock):
    assert next_allowed(compliance, RULES, clock, utc(2026, 11, 25, 16, 0)) is None


@pytest.mark.parametrize("compliance", [FEDERAL, hours("09:00-17:00")])
def test_next_allowed_is_none_when_the_numbers_share_no_calling_hour(compliance):
    """Bug: callee_time.next_allowed raised ValueError for this clock, so compliance.next_allowed
    did too, and the dialers' next_due_filter with it."""
    assert next_allowed(compliance, RULES, NY_UK_GUAM, utc(2026, 11, 25, 16, 0)) is None
    assert never_allowed(compliance, RULES, NY_UK_GUAM, utc(2026, 11, 25, 16, 0))


def test_a_state_rule_that_never_allows_a_call_is_none_too():
    header = "state,days,hours,max_calls,per_hours,source,checked,note\n"
    closed = RULES.extended(header + "NV,mon-sun,none,,,Test 1 https://example.org,2026-11-27,\n", "user.csv")
    nevada = CalleeClock(7, (LA,), ("NV",), "numbers: phonenumbers")
    assert next_allowed(NO_HOURS, closed, nevada, utc(2026, 11, 25, 16, 0)) is None
    assert never_allowed(NO_HOURS, closed, nevada, utc(2026, 11, 25, 16, 0))


@pytest.mark.parametrize("compliance, clock", [(FEDERAL, NY_CA), (FEDERAL, TEXAS), (NO_HOURS, NY_UK_GUAM),
                                               (FEDERAL, NOWHERE)])
def test_a_clock_with_a_calling_hour_or_without_zones_is_not_never(compliance, clock):
    # without zones the lead waits for its timezone column (recipient_hours), it is not "never"
    assert not never_allowed(compliance, RULES, clock, utc(2026, 11, 25, 16, 0))


# --- caps ----------------------------------------------------------------------------------------

FL_CAP = FrequencyCap(3, 24 * HOURS, f"FL: {FL_SOURCE}")


@pytest.mark.parametrize("compliance, states, expected", [
    (capped(2, 24 * HOURS), ["FL"], [FrequencyCap(2, 24 * HOURS, "campaign"), FL_CAP]),
    (FEDERAL, ["FL"], [FL_CAP]),
    (FEDERAL, ["FL", "TX"], [FL_CAP]),
    (capped(5, 24 * HOURS), ["TX"], [FrequencyCap(5, 24 * HOURS, "campaign")]),   # Texas has no cap
    (FEDERAL, ["TX"], []),
    (FEDERAL, [], []),
    # no cap implies another: 10 a week allows 10 in a day, Florida's 3 a day allow 21 a week
    (capped(10, 7 * DAYS), ["FL"], [FrequencyCap(10, 7 * DAYS, "campaign"), FL_CAP]),
])
def test_every_cap_that_applies_must_hold(compliance, states, expected):
    assert number_caps(compliance, RULES, states) == expected


def test_cap_text():
    assert str(FrequencyCap(2, 24 * HOURS, "campaign")) == "2 calls per 24h (campaign)"
    assert [str(c) for c in number_caps(FEDERAL, RULES, ["FL"])] == [f"3 calls per 24h (FL: {FL_SOURCE})"]
    assert str(FrequencyCap(10, 7 * DAYS, "campaign")) == "10 calls per 7d (campaign)"


@pytest.mark.parametrize("compliance, rules, expected", [
    (capped(10, 7 * DAYS), RULES, 7 * DAYS),
    (capped(1, 90 * timedelta(minutes=1)), RULES, 24 * HOURS),  # the shipped FL, MD, OK caps
    (FEDERAL, RULES, 24 * HOURS),
    (FEDERAL, StateRules({}, {}), timedelta(0)),
])
def test_longest_cap_period(compliance, rules, expected):
    assert longest_cap_period(compliance, rules) == expected


# --- periods -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, period", [
    ("24h", 24 * HOURS), ("7d", 7 * DAYS), ("90m", timedelta(minutes=90)), ("1d", DAYS), (" 12 h ", 12 * HOURS),
    ("0h", None), ("0d", None), ("24", None), ("h", None), ("", None), ("24H", None), ("1w", None),
    ("-1h", None), ("1.5h", None), ("24h7d", None), (5, None), (None, None), (24.0, None),
])
def test_parse_period(text, period):
    assert parse_period(text) == period


@pytest.mark.parametrize("period, text", [
    (24 * HOURS, "24h"), (7 * DAYS, "7d"), (timedelta(minutes=90), "90m"), (DAYS, "24h"), (2 * DAYS, "2d"),
    (36 * HOURS, "36h"), (timedelta(minutes=1), "1m"), (timedelta(minutes=60), "1h"),
])
def test_format_period_round_trips(period, text):
    assert format_period(period) == text
    assert parse_period(text) == period


def test_parse_period_too_long_is_not_a_period():
    """Bug: a period too long for a timedelta raises OverflowError instead of answering None, so
    a campaign file with per: "99999999999d" crashes its parse instead of naming the key."""
    assert parse_period("99999999999d") is None


# --- hold_reasons --------------------------------------------------------------------------------

AT = utc(2026, 11, 25, 16, 0)  # Wednesday 11:00 New York
OFFICE = CallingWindow(time(9), time(18), frozenset(range(5)), NY)  # mon-fri 09:00-18:00 New York
ALWAYS = CallingWindow(time(0), time(23, 59), frozenset(range(7)), NY)
DIALABLE = LeadFacts(status="created", due=True, due_at=AT - HOURS, has_dialable=True, callee_clock_id=2,
                     consented=False, dnc_lists=(), recent_calls=())
CONSENT = Compliance(require_consent=True)


def facts(**changes) -> LeadFacts:
    return LeadFacts(**{**vars(DIALABLE), **changes})


@pytest.mark.parametrize("compliance, f, at, expected", [
    # dialable
    (FEDERAL, DIALABLE, AT, []),
    (FEDERAL, facts(status="rescheduled"), AT, []),
    # terminal: the only reason, whatever else holds
    (CONSENT, facts(status="completed", dnc_lists=("internal",), due=False, has_dialable=False), AT,
     [(HoldReason.TERMINAL, "the lead is completed")]),
    (FEDERAL, facts(status="max_retries"), utc(2026, 11, 28, 3, 0),
     [(HoldReason.TERMINAL, "the lead is max_retries")]),
    # not due: waiting for its next attempt, or claimed
    (FEDERAL, facts(status="rescheduled", due=False, due_at=utc(2026, 11, 25, 18, 30)), AT,
     [(HoldReason.NOT_DUE, "its next attempt is due at 2026-11-25 18:30Z")]),
    (FEDERAL, facts(status="scheduled"), AT,
     [(HoldReason.NOT_DUE, "the lead is scheduled (claimed by a dialer or in a call)")]),
    (FEDERAL, facts(status="processing", due=False), AT,
     [(HoldReason.NOT_DUE, "the lead is processing (claimed by a dialer or in a call)")]),
    # do-not-call lists, by name
    (FEDERAL, facts(dnc_lists=("internal",)), AT,
     [(HoldReason.DNC, "its number is on the do-not-call list internal")]),
    (FEDERAL, facts(dnc_lists=("internal", "national")), AT,
     [(HoldReason.DNC, "its number is on the do-not-call list internal, national")]),
    # consent only when the campaign requires it
    (CONSENT, DIALABLE, AT, [(HoldReason.NO_CONSENT, "no consent_at, and compliance.require_consent is on")]),
    (CONSENT, facts(consented=True), AT, []),
    (FEDERAL, facts(consented=False), AT, []),
    # no number left
    (FEDERAL, facts(has_dialable=False), AT,
     [(HoldReason.NO_DIALABLE_CONTACT, "no number of the lead can be dialed")]),
    # the campaign's window (the assistant's clock): Saturday 11:00 New York, opens Monday 09:00 EST
    (FEDERAL, DIALABLE, utc(2026, 11, 28, 16, 0),
     [(HoldReason.CAMPAIGN_WINDOW, "the campaign window is closed; it opens at 2026-11-30 14:00Z")]),
    # 08:59:59 New York: inside the callee's hours, one second before the window opens
    (FEDERAL, DIALABLE, utc(2026, 11, 25, 14, 0) - SECOND,
     [(HoldReason.CAMPAIGN_WINDOW, "the campaign window is closed; it opens at 2026-11-25 14:00Z")]),
])
def test_hold_reasons(compliance, f, at, expected):
    assert hold_reasons(compliance, RULES, OFFICE, FLORIDA, f, at) == expected


def test_recipient_hours_and_state_rule_are_reasons():
    always = CallingWindow(time(0), time(23, 59), frozenset(range(7)), NY)
    early = hold_reasons(FEDERAL, RULES, always, FLORIDA, DIALABLE, utc(2026, 11, 25, 12, 30))  # 07:30 EST
    assert early == [(HoldReason.RECIPIENT_HOURS, "callee local time 07:30 America/New_York is before 08:00")]
    late = hold_reasons(FEDERAL, RULES, always, FLORIDA, DIALABLE, utc(2026, 11, 26, 1, 30))  # 20:30 EST
    assert late == [(HoldReason.STATE_RULE, "Florida (FL) allows 08:00-20:00; callee local time 20:30 "
                                            "America/New_York (Fla. Stat. 501.616(6))")]


@pytest.mark.parametrize("compliance, ago, expected", [
    # the campaign's 2 a day, stricter than Florida's 3: the oldest counted call (20 h ago) frees one at 20:00Z
    (capped(2, 24 * HOURS), [25, 20, 2],
     [(HoldReason.FREQUENCY_CAP, "2 calls to its number in the last 24h (cap 2 calls per 24h (campaign)); "
                                 "the next is allowed at 2026-11-25 20:00Z")]),
    # Florida's 3 a day: three calls, the oldest 23 h ago, frees one at 17:00Z
    (FEDERAL, [23, 5, 1],
     [(HoldReason.FREQUENCY_CAP, f"3 calls to its number in the last 24h (cap 3 calls per 24h (FL: {FL_SOURCE})); "
                                 "the next is allowed at 2026-11-25 17:00Z")]),
    # four calls under a cap of 2: the next waits for the 2nd-newest (3 h ago) to age out
    (capped(2, 24 * HOURS), [22, 10, 3, 1],
     [(HoldReason.FREQUENCY_CAP, "4 calls to its number in the last 24h (cap 2 calls per 24h (campaign)); "
                                 "the next is allowed at 2026-11-26 13:00Z")]),
    # a call exactly one period ago no longer counts
    (capped(2, 24 * HOURS), [24, 1], []),
    (FEDERAL, [24, 2, 1], []),
    (FEDERAL, [], []),
])
def test_frequency_cap(compliance, ago, expected):
    f = facts(recent_calls=tuple(AT - n * HOURS for n in ago))
    assert hold_reasons(compliance, RULES, OFFICE, FLORIDA, f, AT) == expected


def test_several_reasons_at_once_in_a_fixed_order():
    # Saturday 06:00 New York: window closed, before the recipient hours, and everything else wrong too.
    at = utc(2026, 11, 28, 11, 0)
    f = facts(status="rescheduled", due=False, due_at=utc(2026, 11, 28, 12, 0), has_dialable=False,
              dnc_lists=("internal",), recent_calls=(at - 3 * HOURS, at - 2 * HOURS))
    compliance = Compliance(require_consent=True, max_calls_per_number=FrequencyCap(2, 24 * HOURS, "campaign"))
    assert hold_reasons(compliance, RULES, OFFICE, FLORIDA, f, at) == [
        (HoldReason.NO_DIALABLE_CONTACT, "no number of the lead can be dialed"),
        (HoldReason.DNC, "its number is on the do-not-call list internal"),
        (HoldReason.NO_CONSENT, "no consent_at, and compliance.require_consent is on"),
        (HoldReason.NOT_DUE, "its next attempt is due at 2026-11-28 12:00Z"),
        (HoldReason.CAMPAIGN_WINDOW, "the campaign window is closed; it opens at 2026-11-30 14:00Z"),
        (HoldReason.RECIPIENT_HOURS, "callee local time 06:00 America/New_York is before 08:00"),
        (HoldReason.FREQUENCY_CAP, "2 calls to its number in the last 24h (cap 2 calls per 24h (campaign)); "
                                   "the next is allowed at 2026-11-29 08:00Z"),
    ]


def test_a_lead_without_zones_is_held_with_what_to_add():
    assert hold_reasons(FEDERAL, RULES, OFFICE, NOWHERE, DIALABLE, AT) == [
        (HoldReason.RECIPIENT_HOURS,
         "no time zone is known for this lead's numbers; give it a timezone, state or postal_code column")]


def test_a_lead_whose_numbers_share_no_calling_hour_is_held_for_that_reason():
    """Its own reason, not recipient_hours: waiting does not help, at any hour of any day."""
    for at in (AT, utc(2026, 11, 25, 2, 0), utc(2026, 11, 25, 20, 0)):
        assert hold_reasons(FEDERAL, RULES, ALWAYS, NY_UK_GUAM, DIALABLE, at) == [
            (HoldReason.NO_COMMON_HOUR,
             "its numbers share no calling hour: 08:00-21:00 never holds in all of America/New_York, "
             "Europe/London, Pacific/Guam at once; it is held and never called")]
    assert HoldReason.NO_COMMON_HOUR.value == "no_common_hour"


def test_a_weekly_campaign_cap_does_not_lift_floridas_daily_cap():
    """10 calls per 7 days must not let a 4th call within a day reach a Florida number, which
    Fla. Stat. 501.616(6)(b) forbids: every cap that applies holds."""
    f = facts(recent_calls=(AT - 3 * HOURS, AT - 2 * HOURS, AT - 1 * HOURS))
    reasons = hold_reasons(capped(10, 7 * DAYS), RULES, OFFICE, FLORIDA, f, AT)
    assert [code for code, _ in reasons] == [HoldReason.FREQUENCY_CAP]
    assert reasons[0][1].endswith("the next is allowed at 2026-11-26 13:00Z")
