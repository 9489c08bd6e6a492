import copy
import json
from datetime import time

import pytest
import yaml

from outcall_provider.rules.campaign import (
    Campaign,
    CampaignFileError,
    LeadSource,
    RetryPolicy,
    parse_campaign,
    parse_campaign_dict,
)

PATH = "include/campaigns/spring_renewals.yaml"
EXAMPLE = """\
name: spring_renewals
assistant:
  name: Renewals assistant
  phone_number: "+14155550100"
  timezone: America/New_York
  voice_url: https://assistant.example.com/voice
  post_call_variables: {appointment_booked: boolean, summary: string}
schedule: {hours: "09:00-18:00", days: [mon, tue, wed, thu, fri]}
retry: {max_attempts: 3, interval_minutes: 60, on_voicemail: true, until_goal: appointment_booked}
max_calls_in_parallel: 3
leads: {csv: spring_renewals.csv, default_region: US}
"""
MINIMAL = {
    "name": "min",
    "assistant": {"name": "A", "phone_number": "+351912345678", "timezone": "Europe/Lisbon",
                  "stream_url": "wss://assistant.example.com/stream"},
    "schedule": {"hours": "22:00-02:00", "days": ["Sat", "FRI"]},
}


def errors_of(data) -> list[str]:
    with pytest.raises(CampaignFileError) as e:
        parse_campaign_dict(data, PATH)
    assert e.value.path == PATH
    return e.value.errors


def with_(**changes):
    """MINIMAL with keys changed, nested by '__' (retry__max_attempts); the value None deletes the key."""
    data = copy.deepcopy(MINIMAL)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = data
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
    return data


def test_example_campaign():
    c = parse_campaign(EXAMPLE, PATH)
    assert c.dag_id == "campaign_spring_renewals"
    assert c.path == PATH
    assert c.assistant.post_call_variables == {"appointment_booked": "boolean", "summary": "string"}
    assert (c.assistant.voice_url, c.assistant.stream_url) == ("https://assistant.example.com/voice", None)
    assert c.schedule.start == time(9) and c.schedule.end == time(18)
    assert c.retry == RetryPolicy(3, 60, True, "appointment_booked")
    assert c.goal == "appointment_booked"
    assert c.leads == LeadSource(csv="spring_renewals.csv", default_region="US")
    assert (c.db_conn_id, c.twilio_conn_id, c.max_calls_in_parallel) == ("outcall_db", "twilio_default", 3)
    w = c.window()
    assert (w.start, w.end, w.days, w.timezone) == (time(9), time(18), frozenset(range(5)), "America/New_York")


def test_minimal_campaign_defaults():
    c = parse_campaign_dict(MINIMAL, PATH)
    assert c.retry == RetryPolicy() and c.goal is None
    assert c.leads is None and c.max_calls_in_parallel == 3
    assert c.schedule.days == ("fri", "sat")  # lower-cased, in weekday order
    assert c.window().days == frozenset({4, 5})


@pytest.mark.parametrize("text", [EXAMPLE, yaml.safe_dump(MINIMAL)])
def test_to_dict_round_trips_through_json(text):
    c = parse_campaign(text, PATH)
    data = json.loads(json.dumps(c.to_dict()))
    assert parse_campaign_dict(data, PATH) == c


def test_sql_leads_and_connections():
    c = parse_campaign_dict(with_(leads={"sql": "select phone_number from crm.leads", "conn_id": "warehouse",
                                         "default_region": "pt"},
                                  connections={"db_conn_id": "store", "twilio_conn_id": "tw"}), PATH)
    assert c.leads == LeadSource(sql="select phone_number from crm.leads", conn_id="warehouse", default_region="PT")
    assert (c.db_conn_id, c.twilio_conn_id) == ("store", "tw")


def test_phone_number_is_stored_as_e164():
    c = parse_campaign_dict(with_(assistant__phone_number="+1 (415) 555-0100"), PATH)
    assert c.assistant.phone_number == "+14155550100"


@pytest.mark.parametrize("changes, message", [
    ({"name": None}, "name: required; allowed [a-z0-9_]+"),
    ({"name": "Spring-Renewals"}, "name: 'Spring-Renewals' is not allowed; allowed [a-z0-9_]+"),
    ({"colour": "red"}, "colour: unknown key; allowed keys: name, assistant, schedule, retry"),
    ({"assistant__voice": "x"}, "assistant.voice: unknown key; allowed keys: name, phone_number"),
    ({"assistant": None}, "assistant: required; a mapping with keys name, phone_number"),
    ({"assistant": "bob"}, "assistant: must be a mapping"),
    ({"assistant__name": None}, "assistant.name: required"),
    ({"assistant__phone_number": 14155550100}, "assistant.phone_number: 14155550100 must be a quoted E.164"),
    ({"assistant__phone_number": "4155550100"},
     "assistant.phone_number: '4155550100' is not a valid E.164 number (national number without default_region)"),
    ({"assistant__phone_number": "+1415555010"}, "(invalid number for region US)"),
    ({"assistant__timezone": "Mars/Olympus"}, "assistant.timezone: 'Mars/Olympus' is not an IANA timezone"),
    ({"assistant__timezone": "America"}, "assistant.timezone: 'America' is not an IANA timezone"),
    ({"assistant__voice_url": "https://x.example/voice"}, "assistant: set exactly one of voice_url or stream_url"),
    ({"assistant__stream_url": None}, "assistant: one of voice_url (http/https URL) or stream_url (wss:// URL)"),
    ({"assistant__stream_url": "https://x.example/s"}, "assistant.stream_url: 'https://x.example/s' is not allowed"),
    ({"assistant__stream_url": None, "assistant__voice_url": "ftp://x.example"},
     "assistant.voice_url: 'ftp://x.example' is not allowed; allowed an http:// or https:// URL"),
    ({"assistant__stream_url": None, "assistant__voice_url": "https://"}, "assistant.voice_url: 'https://'"),
    ({"assistant__post_call_variables": {"score": "int"}},
     "assistant.post_call_variables.score: 'int' is not a type; allowed boolean, string, number"),
    ({"assistant__post_call_variables": ["a"]}, "assistant.post_call_variables: must be a mapping"),
    ({"schedule": None}, "schedule: required"),
    ({"schedule__hours": "9-18"}, "schedule.hours: '9-18' is not allowed; allowed \"HH:MM-HH:MM\""),
    ({"schedule__hours": "09:00-24:00"}, "between 00:00 and 23:59"),
    ({"schedule__hours": "09:60-18:00"}, "schedule.hours: '09:60-18:00' is not allowed"),
    ({"schedule__hours": 900}, "schedule.hours: 900 is not allowed"),
    ({"schedule__hours": "09:00-09:00"}, "schedule.hours: '09:00-09:00' is an empty window"),
    ({"schedule__hours": None}, "schedule.hours: required"),
    ({"schedule__days": []}, "schedule.days: [] is not allowed; allowed a non-empty list of mon, tue"),
    ({"schedule__days": "mon"}, "schedule.days: 'mon' is not allowed"),
    ({"schedule__days": ["mon", "funday"]}, "schedule.days: 'funday' is not a weekday"),
    ({"schedule__days": ["mon", "Mon"]}, "schedule.days: 'Mon' is listed twice"),
    ({"schedule__days": [{"a": 1}]}, "schedule.days: {'a': 1} is not a weekday"),
    ({"schedule__every": 10}, "schedule.every: unknown key; allowed keys: hours, days"),
    ({"retry__max_attempts": 7}, "retry.max_attempts: 7 is out of range; allowed 1–5 (default 3)"),
    ({"retry__max_attempts": 0}, "retry.max_attempts: 0 is out of range; allowed 1–5 (default 3)"),
    ({"retry__max_attempts": True}, "retry.max_attempts: True is not an integer; allowed 1–5 (default 3)"),
    ({"retry__max_attempts": "3"}, "retry.max_attempts: '3' is not an integer"),
    ({"retry__max_attempts": 2.5}, "retry.max_attempts: 2.5 is not an integer"),
    ({"retry__interval_minutes": 5}, "retry.interval_minutes: 5 is out of range; allowed 10–4320 (default 60)"),
    ({"retry__interval_minutes": 4321}, "retry.interval_minutes: 4321 is out of range; allowed 10–4320"),
    ({"retry__on_voicemail": "yes please"}, "retry.on_voicemail: 'yes please' is not allowed; allowed true or false"),
    ({"retry__until_goal": "booked"}, "retry.until_goal: 'booked' is not a post-call variable"),
    ({"retry__until_goal": "summary", "assistant__post_call_variables": {"summary": "string", "ok": "boolean"}},
     "retry.until_goal: 'summary' is a string variable; allowed a boolean post-call variable (ok)"),
    ({"retry__tries": 3}, "retry.tries: unknown key; allowed keys: max_attempts, interval_minutes"),
    ({"retry": 3}, "retry: must be a mapping"),
    ({"max_calls_in_parallel": 0}, "max_calls_in_parallel: 0 is out of range; allowed 1 or more (default 3)"),
    ({"max_calls_in_parallel": False}, "max_calls_in_parallel: False is not an integer"),
    ({"leads": {}}, "leads: set exactly one of csv (a file path) or sql"),
    ({"leads": {"csv": "a.csv", "sql": "select 1", "conn_id": "w"}}, "leads: set exactly one of csv"),
    ({"leads": {"sql": "select 1"}}, "leads.conn_id: required with leads.sql"),
    ({"leads": {"csv": "a.csv", "conn_id": "w"}}, "leads.conn_id: only allowed with leads.sql"),
    ({"leads": {"csv": ""}}, "leads.csv: '' must be a non-empty string"),
    ({"leads": {"csv": "a.csv", "default_region": "USA"}}, "leads.default_region: 'USA' is not a known region"),
    ({"leads": {"csv": "a.csv", "default_region": "XX"}}, "leads.default_region: 'XX' is not a known region"),
    ({"leads": {"csv": "a.csv", "table": "t"}}, "leads.table: unknown key; allowed keys: csv, sql, conn_id"),
    ({"connections": {"db": "x"}}, "connections.db: unknown key; allowed keys: db_conn_id, twilio_conn_id"),
    ({"connections": {"db_conn_id": 5}}, "connections.db_conn_id: 5 must be a non-empty string"),
])
def test_invalid_field(changes, message):
    errors = errors_of(with_(**changes))
    assert len(errors) == 1, errors
    assert message in errors[0]


def test_all_errors_are_collected_and_named():
    data = with_(name="Bad Name", retry={"max_attempts": 9, "interval_minutes": 1}, extra=1,
                 schedule={"hours": "18:00-18:00", "days": []})
    with pytest.raises(CampaignFileError) as e:
        parse_campaign_dict(data, PATH)
    assert len(e.value.errors) == 6
    assert str(e.value) == f"{PATH}: " + "\n".join(e.value.errors)
    assert isinstance(e.value, ValueError)


def test_unquoted_yaml_phone_number_is_explained():
    text = EXAMPLE.replace('"+14155550100"', "+14155550100")
    with pytest.raises(CampaignFileError) as e:
        parse_campaign(text, PATH)
    assert "quoted E.164 string" in str(e.value)


def test_invalid_yaml_names_the_line():
    with pytest.raises(CampaignFileError) as e:
        parse_campaign("name: x\nassistant: {name: [\n", PATH)
    assert e.value.errors[0].startswith("invalid YAML: line ")
    assert str(e.value).startswith(f"{PATH}: invalid YAML")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string"])
def test_top_level_must_be_a_mapping(text):
    with pytest.raises(CampaignFileError) as e:
        parse_campaign(text, PATH)
    assert "must be a mapping with keys name, assistant" in str(e.value)


def test_campaign_is_frozen():
    c = parse_campaign(EXAMPLE, PATH)
    with pytest.raises(AttributeError):  # frozen
        c.name = "other"
    assert isinstance(c, Campaign)


@pytest.mark.parametrize("field, value", [
    ("timezone", "Mars/Olympus"),
    ("phone_number", "+1 555"),
    ("voice_url", "ftp://assistant.example.com/voice"),
    ("name", ""),
])
def test_one_bad_assistant_field_is_the_only_error_with_a_goal_declared(field, value):
    """Issue 11 point 4: a bad assistant field must not make its declared goal look undeclared."""
    data = yaml.safe_load(EXAMPLE)
    data["assistant"][field] = value
    errors = errors_of(data)
    assert [e.split(":")[0] for e in errors] == [f"assistant.{field}"], errors


def test_an_unreadable_post_call_variables_section_is_one_error_not_two():
    data = yaml.safe_load(EXAMPLE)
    data["assistant"]["post_call_variables"] = ["appointment_booked"]
    errors = errors_of(data)
    assert [e.split(":")[0] for e in errors] == ["assistant.post_call_variables"], errors
