"""The campaign file's `compliance` section and the assistant's caller-ID pool: what they parse to,
that to_dict gives them back, and the whole message of every error a file author sees."""
import copy
import json
from datetime import time, timedelta

import pytest

from outcall_provider.rules.callee_time import RecipientHours
from outcall_provider.rules.campaign import CampaignFileError, parse_campaign_dict
from outcall_provider.rules.compliance import FEDERAL_HOURS, Compliance, FrequencyCap

pytestmark = pytest.mark.unit

PATH = "include/campaigns/renewals.yaml"
BASE = {
    "name": "renewals",
    "assistant": {"name": "Renewals", "phone_number": "+14155550100", "timezone": "America/New_York",
                  "voice_url": "https://assistant.example.com/voice",
                  "post_call_variables": {"opted_out": "boolean", "booked": "boolean", "summary": "string"}},
    "schedule": {"hours": "09:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
}
POOL = ["+14155550100", "+12125550100", "+13055550100"]
E164 = 'an E.164 number such as "+14155550100"'
HOURS_ALLOWED = 'allowed "HH:MM-HH:MM" inside the federal 08:00-21:00 (default)'
CAP_ALLOWED = 'allowed {calls: N (1 or more), per: a period such as "24h", "7d" or "90m"}'
COMPLIANCE_KEYS = "recipient_hours, reason, state_rules, opt_out_variable, max_calls_per_number, require_consent"


def campaign(compliance=None, **assistant):
    """BASE with a compliance section and assistant keys changed; an assistant value None deletes it."""
    data = copy.deepcopy(BASE)
    if compliance is not None:
        data["compliance"] = compliance
    for key, value in assistant.items():
        if value is None:
            data["assistant"].pop(key, None)
        else:
            data["assistant"][key] = value
    return data


def errors_of(data) -> list[str]:
    with pytest.raises(CampaignFileError) as e:
        parse_campaign_dict(data, PATH)
    assert e.value.path == PATH
    return e.value.errors


def round_trips(data):
    c = parse_campaign_dict(data, PATH)
    assert parse_campaign_dict(json.loads(json.dumps(c.to_dict())), PATH) == c
    return c


# --- valid files round trip ----------------------------------------------------------------------

def test_a_full_compliance_section():
    c = round_trips(campaign({"recipient_hours": "09:00-20:00", "state_rules": "rules/my_states.csv",
                              "opt_out_variable": "opted_out", "max_calls_per_number": {"calls": 2, "per": "7d"},
                              "require_consent": True}))
    assert c.compliance == Compliance(RecipientHours(time(9), time(20)), None, "rules/my_states.csv", "opted_out",
                                      FrequencyCap(2, timedelta(days=7), "campaign"), True)


def test_no_compliance_section_is_the_federal_hours():
    c = round_trips(campaign())
    assert c.compliance == Compliance() and c.compliance.recipient_hours == FEDERAL_HOURS
    assert c.to_dict()["compliance"] == {"recipient_hours": "08:00-21:00", "reason": None, "state_rules": None,
                                         "opt_out_variable": None, "max_calls_per_number": None,
                                         "require_consent": False}


@pytest.mark.parametrize("section, expected", [
    ({"recipient_hours": None, "reason": "callbacks the callee booked for this hour"},
     Compliance(None, "callbacks the callee booked for this hour")),
    ({"recipient_hours": "08:00-21:00"}, Compliance()),
    ({"recipient_hours": "10:30-19:45", "reason": "house rule"},
     Compliance(RecipientHours(time(10, 30), time(19, 45)), "house rule")),
    ({"max_calls_per_number": {"calls": 1, "per": "1440m"}},  # written back as "24h"
     Compliance(max_calls_per_number=FrequencyCap(1, timedelta(hours=24), "campaign"))),
    ({"max_calls_per_number": {"calls": 3, "per": "90m"}},
     Compliance(max_calls_per_number=FrequencyCap(3, timedelta(minutes=90), "campaign"))),
    ({"require_consent": False, "opt_out_variable": "booked"}, Compliance(opt_out_variable="booked")),
    ({}, Compliance()),
])
def test_compliance_sections(section, expected):
    assert round_trips(campaign(section)).compliance == expected


@pytest.mark.parametrize("assistant, pool, strategy, cap", [
    ({"phone_number": None, "phone_numbers": POOL}, tuple(POOL), "local", None),
    ({"phone_number": None, "phone_numbers": ["+1 (415) 555-0100", "+12125550100"], "caller_id": "round_robin",
      "caller_id_daily_cap": 150}, ("+14155550100", "+12125550100"), "round_robin", 150),
    ({"phone_number": None, "phone_numbers": ["+14155550100"]}, ("+14155550100",), "local", None),  # a pool of one
    ({"caller_id_daily_cap": 1}, ("+14155550100",), "local", 1),
    ({}, ("+14155550100",), "local", None),
])
def test_caller_id_pool(assistant, pool, strategy, cap):
    a = round_trips(campaign(**assistant)).assistant
    assert (a.phone_numbers, a.phone_number, a.caller_id, a.caller_id_daily_cap) == (pool, pool[0], strategy, cap)


# --- errors, each the whole message --------------------------------------------------------------

@pytest.mark.parametrize("section, message", [
    # recipient hours
    ({"recipient_hours": "07:00-21:00"},
     f"compliance.recipient_hours: 07:00-21:00 is wider than the federal 08:00-21:00; {HOURS_ALLOWED}, "
     "or null with a compliance.reason"),
    ({"recipient_hours": "08:00-21:30"},
     f"compliance.recipient_hours: 08:00-21:30 is wider than the federal 08:00-21:00; {HOURS_ALLOWED}, "
     "or null with a compliance.reason"),
    ({"recipient_hours": "8-21"}, f"compliance.recipient_hours: '8-21' is not allowed; {HOURS_ALLOWED}"),
    ({"recipient_hours": "08:00-24:00"}, f"compliance.recipient_hours: '08:00-24:00' is not allowed; {HOURS_ALLOWED}"),
    ({"recipient_hours": "20:00-09:00"}, f"compliance.recipient_hours: '20:00-09:00' is not allowed; {HOURS_ALLOWED}"),
    ({"recipient_hours": "09:00-09:00"}, f"compliance.recipient_hours: '09:00-09:00' is not allowed; {HOURS_ALLOWED}"),
    ({"recipient_hours": 800}, f"compliance.recipient_hours: 800 is not allowed; {HOURS_ALLOWED}"),
    ({"recipient_hours": None},
     "compliance.recipient_hours: null (no callee-local hours) needs compliance.reason, a written reason why "
     "these calls may be made at any hour"),
    # opt-out variable: a declared boolean
    ({"opt_out_variable": "summary"},
     "compliance.opt_out_variable: 'summary' is not a boolean post-call variable; allowed one of "
     "assistant.post_call_variables of type boolean (opted_out, booked)"),
    ({"opt_out_variable": "opt_out"},
     "compliance.opt_out_variable: 'opt_out' is not a boolean post-call variable; allowed one of "
     "assistant.post_call_variables of type boolean (opted_out, booked)"),
    ({"opt_out_variable": True},
     "compliance.opt_out_variable: True is not a boolean post-call variable; allowed one of "
     "assistant.post_call_variables of type boolean (opted_out, booked)"),
    # max calls per number
    ({"max_calls_per_number": 3}, f"compliance.max_calls_per_number: 3 is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": "3/24h"}, f"compliance.max_calls_per_number: '3/24h' is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": 3}},
     f"compliance.max_calls_per_number: {{'calls': 3}} is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": 3, "per": "24h", "burst": 1}},
     f"compliance.max_calls_per_number: {{'calls': 3, 'per': '24h', 'burst': 1}} is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": 0, "per": "24h"}},
     f"compliance.max_calls_per_number.calls: 0 is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": True, "per": "24h"}},
     f"compliance.max_calls_per_number.calls: True is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": 2.5, "per": "24h"}},
     f"compliance.max_calls_per_number.calls: 2.5 is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": 2, "per": 24}},
     f"compliance.max_calls_per_number.per: 24 is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": 2, "per": "1w"}},
     f"compliance.max_calls_per_number.per: '1w' is not allowed; {CAP_ALLOWED}"),
    ({"max_calls_per_number": {"calls": 2, "per": "0h"}},
     f"compliance.max_calls_per_number.per: '0h' is not allowed; {CAP_ALLOWED}"),
    # require consent
    ({"require_consent": "yes"},
     "compliance.require_consent: 'yes' is not allowed; allowed true or false (default false)"),
    ({"require_consent": 1}, "compliance.require_consent: 1 is not allowed; allowed true or false (default false)"),
    # the section itself
    ({"state_rules": ""}, "compliance.state_rules: '' must be a non-empty string"),
    ({"reason": 5, "recipient_hours": "09:00-20:00"}, "compliance.reason: 5 must be a non-empty string"),
    ({"timezone": "America/New_York"}, f"compliance.timezone: unknown key; allowed keys: {COMPLIANCE_KEYS}"),
    ({"recipient_hour": "09:00-20:00"}, f"compliance.recipient_hour: unknown key; allowed keys: {COMPLIANCE_KEYS}"),
    ("strict", f"compliance: must be a mapping with keys {COMPLIANCE_KEYS}"),
])
def test_compliance_error(section, message):
    assert errors_of(campaign(section)) == [message]


def test_null_hours_with_an_empty_reason_names_both():
    assert errors_of(campaign({"recipient_hours": None, "reason": " "})) == [
        "compliance.reason: ' ' must be a non-empty string",
        "compliance.recipient_hours: null (no callee-local hours) needs compliance.reason, a written reason why "
        "these calls may be made at any hour"]


def test_every_compliance_error_at_once():
    errors = errors_of(campaign({"recipient_hours": "07:00-22:00", "opt_out_variable": "summary",
                                 "max_calls_per_number": {"calls": "3", "per": "1w"}, "require_consent": "no",
                                 "audit": True}))
    assert [e.split(":")[0] for e in errors] == [
        "compliance.audit", "compliance.recipient_hours", "compliance.opt_out_variable",
        "compliance.max_calls_per_number.calls", "compliance.max_calls_per_number.per", "compliance.require_consent"]


def test_opt_out_variable_with_no_boolean_declared():
    data = campaign({"opt_out_variable": "summary"}, post_call_variables={"summary": "string"})
    assert errors_of(data) == [
        "compliance.opt_out_variable: 'summary' is not a boolean post-call variable; allowed one of "
        "assistant.post_call_variables of type boolean (none declared)"]


def test_an_unreadable_post_call_variables_section_does_not_also_blame_the_opt_out_variable():
    errors = errors_of(campaign({"opt_out_variable": "opted_out"}, post_call_variables=["opted_out"]))
    assert [e.split(":")[0] for e in errors] == ["assistant.post_call_variables"], errors


@pytest.mark.parametrize("assistant, message", [
    ({"phone_number": None, "phone_numbers": ["+14155550100", "+1 415 555 0100"]},
     "assistant.phone_numbers[1]: '+1 415 555 0100' is listed twice"),
    ({"phone_number": None, "phone_numbers": ["+14155550100", "+1415555010"]},
     f"assistant.phone_numbers[1]: '+1415555010' is not a valid E.164 number (invalid number for region US); "
     f"allowed {E164}"),
    ({"phone_number": None, "phone_numbers": ["+14155550100", "+12125550100", "2125550101"]},
     "assistant.phone_numbers[2]: '2125550101' is not a valid E.164 number (national number without "
     f"default_region); allowed {E164}"),
    ({"phone_number": None, "phone_numbers": [14155550100]},
     'assistant.phone_numbers[0]: 14155550100 must be a quoted E.164 string such as "+14155550100"'),
    ({"phone_numbers": POOL}, "assistant: set one of phone_number or phone_numbers, not both"),
    ({"phone_number": None, "phone_numbers": []},
     f"assistant.phone_numbers: must be a list of 1–100 numbers, each {E164}"),
    ({"phone_number": None, "phone_numbers": "+14155550100"},
     f"assistant.phone_numbers: must be a list of 1–100 numbers, each {E164}"),
    ({"phone_number": None, "phone_numbers": [f"+1415555{i:04d}" for i in range(101)]},
     f"assistant.phone_numbers: must be a list of 1–100 numbers, each {E164}"),
    ({"phone_number": None}, f"assistant.phone_number: required (or phone_numbers, a list); {E164}"),
    ({"caller_id": "nearest"}, "assistant.caller_id: 'nearest' is not allowed; allowed local or round_robin "
                               "(default local)"),
    ({"caller_id": "Local"}, "assistant.caller_id: 'Local' is not allowed; allowed local or round_robin "
                             "(default local)"),
])
def test_caller_id_error(assistant, message):
    assert errors_of(campaign(**assistant)) == [message]


def test_a_pool_of_100_is_allowed():
    numbers = [f"+1415555{i:04d}" for i in range(100)]
    assert parse_campaign_dict(campaign(phone_number=None, phone_numbers=numbers), PATH).assistant.phone_numbers \
        == tuple(numbers)


@pytest.mark.parametrize("cap, message", [
    (0, "assistant.caller_id_daily_cap: 0 is out of range; allowed 1 or more (default no cap)"),
    (-5, "assistant.caller_id_daily_cap: -5 is out of range; allowed 1 or more (default no cap)"),
    ("10", "assistant.caller_id_daily_cap: '10' is not an integer; allowed 1 or more (default no cap)"),
    (True, "assistant.caller_id_daily_cap: True is not an integer; allowed 1 or more (default no cap)"),
])
def test_caller_id_daily_cap_error(cap, message):
    """Bug (message): without caller_id_daily_cap a pool number has no cap, but the message says
    "(default 1)": campaign._int always appends the `default` it is given, here 1."""
    assert errors_of(campaign(caller_id_daily_cap=cap)) == [message]


def test_several_bad_pool_numbers_are_each_named():
    errors = errors_of(campaign(phone_number=None, phone_numbers=["+1415555010", "+14155550100", 5, "+14155550100"]))
    assert [e.split(":")[0] for e in errors] == ["assistant.phone_numbers[0]", "assistant.phone_numbers[2]",
                                                 "assistant.phone_numbers[3]"]


@pytest.mark.parametrize("per", ["99999999999d", "800000d"])
def test_a_period_too_long_is_an_error_not_a_crash(per):
    """Bug: "99999999999d" overflows timedelta in parse_period (OverflowError out of the parse);
    "800000d" parses, but every `at - per` (hold_reasons, ComplianceGate.hold_params) then falls
    before year 1 and raises OverflowError at preview and dial time."""
    assert errors_of(campaign({"max_calls_per_number": {"calls": 2, "per": per}})) == [
        f"compliance.max_calls_per_number.per: {per!r} is not allowed; {CAP_ALLOWED}"]
