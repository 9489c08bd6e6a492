"""A valid campaign file in words (issue 11, point 4): window, retries, goal, leads, next opening."""
from datetime import datetime, timezone

import yaml
from test_campaign import EXAMPLE, MINIMAL, PATH

from outcall_provider.rules.campaign import parse_campaign_dict
from outcall_provider.rules.describe import describe, when_open


def campaign(**changes):
    data = yaml.safe_load(EXAMPLE)
    data.update(changes)
    return parse_campaign_dict(data, PATH)


def test_a_campaign_in_words():
    words = dict(describe(campaign()))
    assert words["calling window"] == "09:00-18:00 America/New_York, mon, tue, wed, thu, fri"
    assert words["retries"] == "up to 3 rounds, 60 min apart; voicemail is retried"
    assert words["goal"].startswith("appointment_booked (a lead is called again until it is true)")
    assert words["leads"] == ("the CSV file spring_renewals.csv (next to the campaign file), "
                              "national numbers read as US")


def test_a_window_across_midnight_is_legal_but_flagged_as_a_likely_typo():
    words = dict(describe(campaign(schedule={"hours": "18:00-09:00", "days": ["mon"]})))
    assert "crosses midnight: open from 18:00 until 09:00 the next morning" in words["calling window"]
    assert "usually a typo for 09:00-18:00" in words["calling window"]
    assert "crosses midnight" not in dict(describe(campaign()))["calling window"]


def test_no_goal_and_no_lead_source_say_what_happens_instead():
    words = dict(describe(parse_campaign_dict(MINIMAL, PATH)))
    assert words["goal"].startswith("none")
    assert words["leads"].startswith("none synced")
    assert words["calling window"].startswith("22:00-02:00 Europe/Lisbon")


def test_when_the_window_next_opens_in_the_campaigns_clock_and_utc():
    window = campaign().window()
    friday_evening = datetime(2026, 11, 27, 23, 30, tzinfo=timezone.utc)  # 18:30 in New York
    assert when_open(window, friday_evening) == ("closed now; it next opens Mon 2026-11-30 09:00 "
                                                 "America/New_York (14:00 UTC)")
    monday_noon = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
    assert when_open(window, monday_noon) == "open now, until Mon 2026-11-30 18:00 America/New_York (23:00 UTC)"
