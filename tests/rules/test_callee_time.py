"""Callee-local hours tests. Expected instants are written in UTC, worked out by hand from each
zone's offsets in 2026: New York EST -5 / EDT -4, Chicago -6 / -5, Denver -7 / -6, Phoenix -7 all
year, Los Angeles -8 / -7, Anchorage -9 / -8, Honolulu -10 all year, Berlin CET +1 / CEST +2.
US clocks change on 2026-03-08 and 2026-11-01, EU clocks on 2026-03-29 and 2026-10-25."""
from datetime import datetime, time, timedelta, timezone

import pytest

from outcall_provider.rules.callee_time import (
    CandidateZones,
    RecipientHours,
    _table,
    allowed_at,
    candidate_zones,
    next_allowed,
)

NY, CHI, DEN, PHX, LA, ANC, HNL = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                                   "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu")
BERLIN = "Europe/Berlin"
LAW = RecipientHours.parse("08:00-21:00")  # 47 CFR 64.1200
SECOND = timedelta(seconds=1)


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


# --- candidate zones -------------------------------------------------------------------------

@pytest.mark.parametrize("phone, zones, source", [
    ("+12125550123", (NY,), "phonenumbers"),
    ("+13125550123", (CHI,), "phonenumbers"),
    ("+13035550123", (DEN,), "phonenumbers"),
    ("+16025550123", (PHX,), "phonenumbers"),
    ("+12135550123", (LA,), "phonenumbers"),
    ("+18085550123", (HNL,), "phonenumbers"),
    # phonenumbers names one zone for these; the shipped table adds the other.
    ("+18505550123", (CHI, NY), "area code 850 (table us_area_code_zones.csv) + phonenumbers"),
    ("+15415550123", (DEN, LA), "area code 541 (table us_area_code_zones.csv) + phonenumbers"),
    ("+16053350123", (CHI, DEN), "area code 605 (table us_area_code_zones.csv) + phonenumbers"),
    ("+19285550123", (DEN, PHX), "area code 928 (table us_area_code_zones.csv) + phonenumbers"),
    ("+19075550123", ("America/Adak", ANC), "area code 907 (table us_area_code_zones.csv) + phonenumbers"),
    # phonenumbers says New York for Gary, Indiana (Central): the union keeps both, the safe side.
    ("+12195550123", (CHI, NY), "area code 219 (table us_area_code_zones.csv) + phonenumbers"),
])
def test_zones_from_the_number(phone, zones, source):
    assert candidate_zones(phone) == CandidateZones(zones, source)


@pytest.mark.parametrize("overrides, zones, source", [
    # timezone wins outright, over state and postal code
    (dict(timezone=LA, state="NY", postal_code="10001"), (LA,), "lead timezone"),
    # state gives every zone of the state (Arizona: the Navajo Nation keeps DST), and beats postal code
    (dict(state="az", postal_code="10001"), (DEN, PHX), "state AZ (table us_state_zones.csv)"),
    (dict(state="FL"), (CHI, NY), "state FL (table us_state_zones.csv)"),
    # postal code: the ZIP's own row inside a prefix that spans zones (Panama City / Port St. Joe)...
    (dict(postal_code="32401"), (CHI,), "postal code 32401 (table us_zip_zones.csv, ZIP 32401)"),
    (dict(postal_code="32456-1234"), (NY,), "postal code 32456 (table us_zip_zones.csv, ZIP 32456)"),
    # ...else its 3-digit prefix
    (dict(postal_code="90210"), (LA,), "postal code 90210 (table us_zip_zones.csv, prefix 902)"),
    # blank overrides (an empty CSV cell) fall through to the number
    (dict(timezone="", state=" ", postal_code=""), (NY,), "phonenumbers"),
])
def test_lead_overrides(overrides, zones, source):
    assert candidate_zones("+12125550123", **overrides) == CandidateZones(zones, source)


# --- one zone in each US time zone, summer and winter ----------------------------------------

# zone, 08:00 local on 2026-07-15 in UTC, the same on 2026-01-15
OPENS = [(NY, 12, 13), (CHI, 13, 14), (DEN, 14, 15), (PHX, 15, 15), (LA, 15, 16), (ANC, 16, 17), (HNL, 18, 18)]


@pytest.mark.parametrize("zone, summer, winter", OPENS)
@pytest.mark.parametrize("month, which", [(7, 1), (1, 2)])
def test_each_us_zone_is_open_exactly_0800_to_2100(zone, summer, winter, month, which):
    opens = utc(2026, month, 15, (summer, winter)[which - 1])
    closes = opens + timedelta(hours=13)
    assert allowed_at(LAW, [zone], opens).allowed
    assert allowed_at(LAW, [zone], closes - SECOND).allowed
    early = allowed_at(LAW, [zone], opens - SECOND)
    assert not early.allowed and early.why == f"callee local time 07:59 {zone} is before 08:00"
    late = allowed_at(LAW, [zone], closes)
    assert not late.allowed and late.why == f"callee local time 21:00 {zone} is at or after 21:00"


def test_verdict_lists_every_zones_local_time():
    verdict = allowed_at(LAW, candidate_zones("+18505550123"), utc(2026, 7, 15, 12, 30))
    assert verdict.local_times == {CHI: "2026-07-15 07:30:00 CDT", NY: "2026-07-15 08:30:00 EDT"}


# --- a number in two zones: the hours must hold in both --------------------------------------

@pytest.mark.parametrize("now, allowed, why", [
    (utc(2026, 7, 15, 12, 30), False, "callee local time 07:30 America/Chicago is before 08:00"),  # NY 08:30
    (utc(2026, 7, 15, 13, 0), True, ""),  # 08:00 Chicago, 09:00 New York
    (utc(2026, 7, 16, 0, 59, 59), True, ""),  # 20:59:59 New York
    (utc(2026, 7, 16, 1, 0), False, "callee local time 21:00 America/New_York is at or after 21:00"),  # Chicago 20:00
])
def test_two_zone_area_code(now, allowed, why):
    verdict = allowed_at(LAW, candidate_zones("+18505550123"), now)
    assert (verdict.allowed, verdict.why) == (allowed, why)


# --- DST switch days, exact to the second ----------------------------------------------------

@pytest.mark.parametrize("zone, now, allowed", [
    # 2026-03-08, US spring forward: New York on EDT (-4) from 02:00 EST
    (NY, utc(2026, 3, 8, 11, 59, 59), False),  # 07:59:59 EDT
    (NY, utc(2026, 3, 8, 12, 0, 0), True),     # 08:00:00 EDT
    (NY, utc(2026, 3, 9, 0, 59, 59), True),    # 20:59:59 EDT
    (NY, utc(2026, 3, 9, 1, 0, 0), False),     # 21:00:00 EDT
    (LA, utc(2026, 3, 8, 14, 59, 59), False),  # 07:59:59 PDT
    (LA, utc(2026, 3, 8, 15, 0, 0), True),     # 08:00:00 PDT
    (LA, utc(2026, 3, 9, 3, 59, 59), True),    # 20:59:59 PDT
    (LA, utc(2026, 3, 9, 4, 0, 0), False),     # 21:00:00 PDT
    (PHX, utc(2026, 3, 8, 15, 0, 0), True),    # 08:00:00 MST: Arizona does not switch
    (PHX, utc(2026, 3, 8, 14, 59, 59), False),
    # 2026-11-01, US fall back: New York on EST (-5) from 02:00 EDT
    (NY, utc(2026, 11, 1, 12, 59, 59), False),  # 07:59:59 EST
    (NY, utc(2026, 11, 1, 13, 0, 0), True),     # 08:00:00 EST
    (NY, utc(2026, 11, 2, 1, 59, 59), True),    # 20:59:59 EST
    (NY, utc(2026, 11, 2, 2, 0, 0), False),     # 21:00:00 EST
    (LA, utc(2026, 11, 1, 15, 59, 59), False),  # 07:59:59 PST
    (LA, utc(2026, 11, 1, 16, 0, 0), True),     # 08:00:00 PST
    (LA, utc(2026, 11, 2, 4, 59, 59), True),    # 20:59:59 PST
    (LA, utc(2026, 11, 2, 5, 0, 0), False),     # 21:00:00 PST
    # 2026-03-29, EU spring forward: Berlin on CEST (+2)
    (BERLIN, utc(2026, 3, 29, 5, 59, 59), False),  # 07:59:59 CEST
    (BERLIN, utc(2026, 3, 29, 6, 0, 0), True),     # 08:00:00 CEST
    (BERLIN, utc(2026, 3, 29, 18, 59, 59), True),  # 20:59:59 CEST
    (BERLIN, utc(2026, 3, 29, 19, 0, 0), False),   # 21:00:00 CEST
    # 2026-10-25, EU fall back: Berlin on CET (+1)
    (BERLIN, utc(2026, 10, 25, 6, 59, 59), False),  # 07:59:59 CET
    (BERLIN, utc(2026, 10, 25, 7, 0, 0), True),     # 08:00:00 CET
    (BERLIN, utc(2026, 10, 25, 19, 59, 59), True),  # 20:59:59 CET
    (BERLIN, utc(2026, 10, 25, 20, 0, 0), False),   # 21:00:00 CET
])
def test_switch_days_at_the_edges(zone, now, allowed):
    assert allowed_at(LAW, [zone], now).allowed is allowed


def test_us_and_eu_zones_switch_independently():
    both = [BERLIN, NY]
    # 2026-03-22: New York already on EDT, Berlin still on CET, 5 hours apart (6 the rest of the year).
    assert next_allowed(LAW, both, utc(2026, 3, 22, 0, 0)) == utc(2026, 3, 22, 12, 0)  # 08:00 EDT, 13:00 CET
    assert allowed_at(LAW, both, utc(2026, 3, 22, 19, 30)).allowed  # 20:30 CET, 15:30 EDT
    # A week later Berlin has moved too: the same UTC instant is 21:30 CEST.
    late = allowed_at(LAW, both, utc(2026, 3, 29, 19, 30))
    assert late.why == "callee local time 21:30 Europe/Berlin is at or after 21:00"


# --- next_allowed -----------------------------------------------------------------------------

@pytest.mark.parametrize("zones, now, expected", [
    # forbidden at night: lands on 08:00 in the latest (westernmost) zone, Chicago
    ((CHI, NY), utc(2026, 7, 15, 3, 0), utc(2026, 7, 15, 13, 0)),
    # the evening before US spring forward (21:00 CST): Chicago opens at 08:00 CDT, 13:00Z, not 14:00Z
    ((CHI, NY), utc(2026, 3, 8, 3, 0), utc(2026, 3, 8, 13, 0)),
    # the evening before US fall back: 08:00 CST is 14:00Z
    ((CHI, NY), utc(2026, 11, 1, 3, 0), utc(2026, 11, 1, 14, 0)),
    # already allowed: now itself
    ((CHI, NY), utc(2026, 7, 15, 15, 30), utc(2026, 7, 15, 15, 30)),
    # New York closes (21:00 EDT) before Chicago (20:00 CDT): the next day at 08:00 Chicago
    ((CHI, NY), utc(2026, 7, 16, 1, 0), utc(2026, 7, 16, 13, 0)),
    # Hawaii and New York: 08:00 Honolulu is 14:00 EDT
    ((HNL, NY), utc(2026, 7, 15, 12, 0), utc(2026, 7, 15, 18, 0)),
])
def test_next_allowed(zones, now, expected):
    found = next_allowed(LAW, zones, now)
    assert found == expected and found.utcoffset() == timedelta(0)
    assert allowed_at(LAW, zones, found).allowed


def test_next_allowed_from_a_lead():
    zones = candidate_zones("+18505550123")
    assert next_allowed(LAW, zones, utc(2026, 7, 15, 12, 30)) == utc(2026, 7, 15, 13, 0)


def test_start_inside_the_spring_forward_gap_means_the_first_instant_after_it():
    # 02:30 does not exist in New York on 2026-03-08; as in rules/window.py it means 03:00 EDT.
    night = RecipientHours.parse("02:30-05:00")
    assert next_allowed(night, [NY], utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 7, 0)
    assert not allowed_at(night, [NY], utc(2026, 3, 8, 6, 59, 59)).allowed  # 01:59:59 EST


def test_next_allowed_gives_up_after_14_days_when_the_zones_never_overlap():
    # Kiritimati (+14) and Pago Pago (-11) are 25 hours apart: one hour a day never overlaps.
    assert next_allowed(RecipientHours.parse("08:00-09:00"), ["Pacific/Kiritimati", "Pacific/Pago_Pago"],
                        utc(2026, 7, 15)) is None


def test_a_lead_whose_numbers_share_no_hour_is_never_allowed_and_nothing_raises():
    """Bug: a lead with a New York, a UK and a Guam number (the law's 08:00-21:00 in each never
    meet: 13:00-02:00Z, 08:00-21:00Z, 22:00-11:00Z) made next_allowed raise ValueError, and with
    it every dialer of the store each time it went idle. Lead data is an answer, never an error."""
    zones = candidate_zones("+12125550123").zones + ("Europe/London", "Pacific/Guam")
    for now in (utc(2026, 1, 15, 12, 0), utc(2026, 7, 15, 12, 0)):
        assert next_allowed(LAW, zones, now) is None
        assert not allowed_at(LAW, zones, now).allowed


# --- recipient hours and bad inputs ------------------------------------------------------------

def test_hours_parse_like_schedule_hours():
    assert RecipientHours.parse(" 08:00 - 20:00 ") == RecipientHours(time(8), time(20))
    assert str(RecipientHours.parse("08:00-21:00")) == "08:00-21:00"


@pytest.mark.parametrize("text, message", [
    ("21:00-08:00", r"'21:00-08:00': end must be after start \(they do not cross midnight\); "
                    r'allowed "HH:MM-HH:MM" .* e.g. "08:00-21:00"'),
    ("08:00-08:00", r"'08:00-08:00': end must be after start"),
    ("8am-9pm", r"'8am-9pm' are not valid; allowed \"HH:MM-HH:MM\" between 00:00 and 23:59"),
    ("08:00-24:00", r"'08:00-24:00' are not valid"),
])
def test_bad_hours(text, message):
    with pytest.raises(ValueError, match=message):
        RecipientHours.parse(text)


@pytest.mark.parametrize("overrides, message", [
    (dict(timezone="America/New_Yrok"), r"timezone 'America/New_Yrok' is not a known IANA time zone; "
                                        r"allowed an IANA name such as 'America/New_York'"),
    (dict(state="XX"), r"state 'XX' is not a known US state; allowed a two-letter USPS code: AK, AL, .*, WY"),
    (dict(postal_code="ABCDE"), r"postal_code 'ABCDE' is not a US ZIP code; allowed 5 digits"),
    (dict(postal_code="00000"), r"postal_code '00000' is not a known US ZIP code"),
])
def test_bad_overrides(overrides, message):
    with pytest.raises(ValueError, match=message):
        candidate_zones("+12125550123", **overrides)


def test_bad_number_and_bad_now():
    with pytest.raises(ValueError, match=r"phone number '2125550123' is not E.164"):
        candidate_zones("2125550123")
    with pytest.raises(ValueError, match="timezone-aware"):
        allowed_at(LAW, [NY], datetime(2026, 7, 15, 12))
    with pytest.raises(ValueError, match="at least one"):
        next_allowed(LAW, [], utc(2026, 7, 15))


# --- the shipped data files ------------------------------------------------------------------

def test_shipped_tables_load_with_real_zones():
    # _table rejects any zone name tzdata does not know.
    states = _table("us_state_zones.csv", "state")
    assert len(states) == 56  # 50 states, DC, AS, GU, MP, PR, VI
    assert states["FL"] == (NY, CHI) and states["HI"] == (HNL,)
    assert len(_table("us_zip_zones.csv", "zip")) > 2000
    assert _table("us_area_code_zones.csv", "area_code")["850"] == (CHI, NY)


def test_zones_given_by_hand_are_checked():
    with pytest.raises(ValueError, match=r"zone 'Mars/Olympus' is not a known IANA time zone"):
        allowed_at(LAW, (z for z in [NY, "Mars/Olympus"]), utc(2026, 7, 15, 15))
