"""State calling rules tests. Expected instants are in UTC, worked out by hand from 2026 offsets:
New York EST -5 / EDT -4, Chicago CST -6 / CDT -5, Denver MST -7 / MDT -6. US clocks change on
2026-03-08 (Sunday) and 2026-11-01 (Sunday)."""
from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.state_rules import StateRules, area_code_states

pytestmark = pytest.mark.unit

NY, CHI, DEN = "America/New_York", "America/Chicago", "America/Denver"
SECOND = timedelta(seconds=1)
HEADER = "state,days,hours,max_calls,per_hours,source,checked,note\n"
RULES = StateRules.shipped()


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


# --- hours ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("states, zones, now, allowed", [
    # Florida 08:00-20:00 New York time on both DST switch days (EDT from 03:00 on 03-08, EST from 02:00 on 11-01).
    (["FL"], [NY], utc(2026, 3, 8, 23, 59), True),    # 19:59 EDT
    (["FL"], [NY], utc(2026, 3, 9, 0, 0), False),     # 20:00 EDT
    (["FL"], [NY], utc(2026, 3, 8, 12, 0), True),     # 08:00 EDT
    (["FL"], [NY], utc(2026, 3, 8, 11, 59), False),   # 07:59 EDT
    (["FL"], [NY], utc(2026, 11, 2, 0, 59), True),    # 19:59 EST
    (["FL"], [NY], utc(2026, 11, 2, 1, 0), False),    # 20:00 EST
    # Texas Sunday noon-21:00 Central (Sunday 2026-11-29, CST).
    (["TX"], [CHI], utc(2026, 11, 29, 17, 59), False),  # 11:59
    (["TX"], [CHI], utc(2026, 11, 29, 18, 0), True),    # 12:00
    (["TX"], [CHI], utc(2026, 11, 28, 15, 0), True),    # Saturday 09:00
    # Utah: no calls on Sunday at all; Monday is 08:00-21:00.
    (["UT"], [DEN], utc(2026, 11, 29, 19, 0), False),   # Sunday 12:00 MST
    (["UT"], [DEN], utc(2026, 11, 30, 15, 0), True),    # Monday 08:00 MST
    # A state without rows sets no limit of its own.
    (["NY"], [NY], utc(2026, 11, 29, 3, 0), True),      # 22:00 Saturday: only the federal rule would refuse
    # Two states: the strictest wins (Texas allows 20:30 on a weekday, Florida does not).
    (["TX", "FL"], [CHI], utc(2026, 11, 25, 2, 30), False),  # Tuesday 20:30 CST
    (["TX", "FL"], [CHI], utc(2026, 11, 24, 15, 0), True),   # Tuesday 09:00 CST
    (["TX", "FL"], [CHI], utc(2026, 11, 24, 14, 30), False),  # 08:30: Florida yes, Texas no
    # Florida spans two zones: 19:30 Central is 20:30 Eastern, refused.
    (["FL"], [CHI, NY], utc(2026, 11, 25, 1, 30), False),
    (["FL"], [CHI, NY], utc(2026, 11, 25, 0, 30), True),  # 18:30 CST / 19:30 EST
])
def test_allowed_at(states, zones, now, allowed):
    assert RULES.allowed_at(states, zones, now).allowed is allowed


def test_refusal_says_why():
    verdict = RULES.allowed_at(["FL"], [NY], utc(2026, 11, 25, 1, 15))
    assert verdict.why == ("Florida (FL) allows 08:00-20:00; callee local time 20:15 America/New_York "
                           "(Fla. Stat. 501.616(6))")
    assert verdict.rule.state == "FL" and verdict.rule.file.endswith("us_state_rules.csv")
    sunday = RULES.allowed_at(["UT"], [DEN], utc(2026, 11, 29, 19, 0))
    assert sunday.why.startswith("Utah (UT) allows no calls on Sunday; callee local time 12:00 America/Denver")
    texas = RULES.allowed_at(["TX"], [CHI], utc(2026, 11, 29, 17, 59))
    assert texas.why.startswith("Texas (TX) allows 12:00-21:00 on Sunday; callee local time 11:59")
    assert RULES.allowed_at(["FL"], [NY], utc(2026, 11, 25, 0, 15)).why == ""


@pytest.mark.parametrize("states, zones, now, expected", [
    (["FL"], [NY], utc(2026, 3, 9, 0, 0), utc(2026, 3, 9, 12, 0)),        # next 08:00 EDT
    (["FL"], [NY], utc(2026, 11, 1, 1, 0), utc(2026, 11, 1, 13, 0)),      # 21:00 EDT 10-31 -> 08:00 EST
    (["FL"], [NY], utc(2026, 11, 1, 15, 0), utc(2026, 11, 1, 15, 0)),     # already open
    (["TX"], [CHI], utc(2026, 11, 29, 17, 59), utc(2026, 11, 29, 18, 0)),  # Sunday noon CST
    (["UT"], [DEN], utc(2026, 11, 29, 19, 0), utc(2026, 11, 30, 15, 0)),  # Sunday -> Monday 08:00 MST
    (["TX", "FL"], [CHI], utc(2026, 11, 24, 14, 30), utc(2026, 11, 24, 15, 0)),
    (["FL"], [CHI, NY], utc(2026, 11, 25, 1, 30), utc(2026, 11, 25, 14, 0)),  # 08:00 CST = 09:00 EST
    # Rhode Island: Saturday 17:00 EST -> Monday 09:00 EST (Sunday none).
    (["RI"], [NY], utc(2026, 11, 28, 22, 0), utc(2026, 11, 30, 14, 0)),
])
def test_next_allowed(states, zones, now, expected):
    got = RULES.next_allowed(states, zones, now)
    assert got == expected
    assert RULES.allowed_at(states, zones, got).allowed
    if got > now:
        assert not RULES.allowed_at(states, zones, got - SECOND).allowed


def test_next_allowed_day_without_row_opens_at_local_midnight():
    rules = RULES.extended(HEADER + "NV,mon-sat,none,,,Test 1 https://example.org,2026-11-27,\n", "user.csv")
    # Saturday 12:00 PST: no calls until Sunday, which has no row: open from 00:00 Sunday PST.
    assert rules.next_allowed(["NV"], ["America/Los_Angeles"], utc(2026, 11, 28, 20, 0)) == utc(2026, 11, 29, 8, 0)


def test_next_allowed_never():
    rules = RULES.extended(HEADER + "NV,mon-sun,none,,,Test 1 https://example.org,2026-11-27,\n", "user.csv")
    assert rules.next_allowed(["NV"], ["America/Los_Angeles"], utc(2026, 11, 28, 20, 0)) is None


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        RULES.allowed_at(["FL"], [NY], datetime(2026, 11, 25, 12, 0))


# --- caps ----------------------------------------------------------------------------------------

def test_caps_are_every_cap_of_the_states():
    assert RULES.caps(["TX"]) == []
    [cap] = RULES.caps(["TX", "FL"])
    assert (cap.state, cap.calls, cap.per) == ("FL", 3, timedelta(hours=24))
    rules = RULES.extended(HEADER + "ME,mon-sun,08:00-21:00,1,8,Test 2 https://example.org,2026-11-27,\n"
                           "NV,mon-sun,08:00-21:00,2,24,Test 3 https://example.org,2026-11-27,\n", "user.csv")
    assert [c.state for c in rules.caps(["NV", "FL", "ME", "fl"])] == ["FL", "ME", "NV"]  # each must hold
    assert rules.caps([]) == []


# --- extended ------------------------------------------------------------------------------------

def test_extended_replaces_a_state_and_adds_one():
    text = ("# my own rules\n" + HEADER +
            "FL,mon-fri,09:00-17:00,,,Test 4 https://example.org,2026-11-27,stricter house rule\n"
            "FL,sat-sun,none,,,Test 4 https://example.org,2026-11-27,\n"
            "NV,mon-sun,10:00-18:00,5,48,Test 5 https://example.org,2026-11-27,\n")
    rules = RULES.extended(text, "/etc/outcall/rules.csv")
    assert [(r.days, str(r.hours), r.line, r.file) for r in rules.rules_for("FL")] == [
        (frozenset(range(5)), "09:00-17:00", 3, "/etc/outcall/rules.csv"),
        (frozenset({5, 6}), "None", 4, "/etc/outcall/rules.csv")]
    assert rules.caps(["FL"]) == []  # the shipped cap went with the shipped rows
    assert [c.per for c in rules.caps(["NV"])] == [timedelta(hours=48)]
    assert "NV" in rules.states() and "TX" in rules.states() and "NV" not in RULES.states()
    assert rules.rules_for("TX") == RULES.rules_for("TX")


def test_extended_errors_name_file_line_column():
    text = (HEADER +
            "FL,mon-fri,09:00-17:00,,,ok https://example.org,2026-11-27,\n"   # line 2: fine
            "XX,mon-fri,09:00-17:00,,,s,2026-11-27,\n"                         # line 3: state
            "FL,fri-sun,09:00-17:00,,,s,2026-11-27,\n"                         # line 4: overlaps line 2
            "TX,mon-fry,09:00-17:00,,,s,2026-11-27,\n"                         # line 5: days
            "TX,sat,17:00-09:00,,,s,2026-11-27,\n"                             # line 6: hours
            "NV,sun,09:00-17:00,3,,s,27/11/2026,\n"                            # line 7: per_hours, checked
            "NV,mon,09:00-17:00,2,24,,2026-11-27,\n"                           # line 8: source; caps differ
            "NV,tue\n")                                                        # line 9: column count
    with pytest.raises(ValueError) as raised:
        RULES.extended(text, "user/rules.csv")
    message = str(raised.value)
    for expected in ["user/rules.csv line 3, column 1 (state): 'XX' is not a known state",
                     "user/rules.csv line 4, column 2 (days): FL fri already has line 2",
                     "user/rules.csv line 5, column 2 (days): 'mon-fry' is not valid; allowed mon..sun",
                     "user/rules.csv line 6, column 3 (hours)",
                     "or 'none' for no calls",
                     "user/rules.csv line 7, column 5 (per_hours)",
                     "user/rules.csv line 7, column 7 (checked): '27/11/2026' is not valid",
                     "user/rules.csv line 8, column 6 (source): empty",
                     "different caps",
                     "user/rules.csv line 9: 2 columns"]:
        assert expected in message, expected


def test_extended_bad_header():
    with pytest.raises(ValueError, match=r"x\.csv line 1: header must be state,days,hours"):
        RULES.extended("state,hours\nFL,08:00-20:00\n", "x.csv")


# --- area codes and describe ---------------------------------------------------------------------

@pytest.mark.parametrize("phone, states", [
    ("+13055550123", ("FL",)),
    ("+12125550123", ("NY",)),
    ("+12025550123", ("DC",)),
    ("+442079460000", ()),   # London
    ("+14165550123", ()),    # Toronto: NANP but not US
    ("+18005550123", ()),    # toll-free: no state
])
def test_area_code_states(phone, states):
    assert area_code_states(phone) == states


def test_area_code_states_bad_number():
    with pytest.raises(ValueError, match="not E.164"):
        area_code_states("not a number")


def test_describe():
    text = RULES.describe()
    assert "Florida (FL)" in text and "mon-sun: 08:00-20:00" in text
    assert "cap: at most 3 calls to a number per 24 h" in text
    assert "source: Fla. Stat. 501.616(6) http" in text and "(checked 2026-11-27)" in text
    assert text.splitlines()[-1] == "Every other state follows the federal 08:00-21:00 (47 CFR 64.1200(c)(1)) only."
    utah = RULES.describe("ut")
    assert "sun: no calls" in utah and "Utah Code 13-25a-103(3)" in utah and "Florida" not in utah
    assert "follows the federal 08:00-21:00" in RULES.describe("NY")
    with pytest.raises(ValueError, match="not a known US state"):
        RULES.describe("ZZ")


def test_shipped_is_cached_and_every_row_cites_a_source():
    assert StateRules.shipped() is RULES
    for state in RULES.states():
        for rule in RULES.rules_for(state):
            assert "http" in rule.source and rule.checked == "2026-11-27" and rule.note
