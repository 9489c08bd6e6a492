"""The results rules: the campaign file's `results` key, whether an existing warehouse table can
take the rows, the rows as the tables and files have them."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from outcall_provider.exceptions import ResultsTableError
from outcall_provider.rules import results
from outcall_provider.rules.campaign import CampaignFileError, ResultsTarget, parse_campaign_dict
from outcall_provider.rules.results import ATTEMPT_COLUMNS, LEAD_COLUMNS, ExportCounts
from outcall_provider.rules.states import LeadStatus

PATH = "include/campaigns/crm.yaml"
MINIMAL = {
    "name": "crm",
    "assistant": {"name": "A", "phone_number": "+351912345678", "timezone": "Europe/Lisbon",
                  "stream_url": "wss://assistant.example.com/stream"},
    "schedule": {"hours": "09:00-18:00", "days": ["mon"]},
}


def errors_of(data) -> list[str]:
    with pytest.raises(CampaignFileError) as e:
        parse_campaign_dict(data, PATH)
    assert e.value.path == PATH
    return e.value.errors


def test_results_key_names_a_connection_and_a_schema_table():
    c = parse_campaign_dict({**MINIMAL, "results": {"conn_id": "warehouse", "table": "crm.outcall_results"}}, PATH)
    assert c.results == ResultsTarget("warehouse", "crm.outcall_results")
    assert c.results.attempts_table == "crm.outcall_results_attempts"
    assert parse_campaign_dict(c.to_dict(), PATH) == c  # round-trips through the file form
    assert parse_campaign_dict(MINIMAL, PATH).results is None  # optional


@pytest.mark.parametrize("results, expected", [
    ({"table": "crm.r"}, "results.conn_id: required"),
    ({"conn_id": "warehouse"}, "results.table: required; allowed schema.table"),
    ({"conn_id": "warehouse", "table": "results"}, "results.table: 'results' is not allowed; allowed schema.table"),
    ({"conn_id": "warehouse", "table": "crm.r; drop table x"}, "results.table: 'crm.r; drop table x' is not allowed"),
    ({"conn_id": "warehouse", "table": "crm.r", "mode": "append"},
     "results.mode: unknown key; allowed keys: conn_id, table"),
    ("crm.r", "results: must be a mapping with keys conn_id, table"),
])
def test_bad_results_key_names_the_key_and_what_is_allowed(results, expected):
    errors = errors_of({**MINIMAL, "results": results})
    assert any(expected in e for e in errors), errors


def test_a_table_with_every_column_of_a_type_that_holds_it_is_compatible():
    postgres = {"campaign": "text", "lead_id": "bigint", "external_id": "character varying", "phone_number": "text",
                "status": "text", "attempts": "integer", "last_outcome": "text", "goal_met": "boolean",
                "variables": "jsonb", "updated_at": "timestamp with time zone", "crm_note": "text"}
    assert results.column_problems("crm.r", LEAD_COLUMNS, postgres) == []  # extra columns are the user's own
    results.check_table("crm.r", LEAD_COLUMNS, postgres)


def test_an_incompatible_table_is_an_error_naming_each_column_at_fault():
    found = {c.name: "text" for c in LEAD_COLUMNS if c.name not in ("goal_met", "updated_at")}
    found["attempts"] = "boolean"
    with pytest.raises(ResultsTableError) as e:
        results.check_table("crm.r", LEAD_COLUMNS, found)
    message = str(e.value)
    assert "crm.r.goal_met is missing" in message and "crm.r.updated_at is missing" in message
    assert "crm.r.attempts is boolean; allowed integer types: bigint," in message
    assert "crm.r.phone_number" not in message  # text holds it


def test_rows_are_shaped_in_column_order_with_the_campaign_name():
    row = {"lead_id": 7, "external_id": "crm-7", "phone_number": "+14155550107", "status": LeadStatus.COMPLETED.value,
           "attempts": 2, "last_outcome": "goal_met", "goal_met": True, "variables": {"summary": "ok"},
           "updated_at": datetime(2026, 11, 2, tzinfo=timezone.utc)}
    values = results.row_values("crm", row, LEAD_COLUMNS)
    assert values[:5] == ("crm", 7, "crm-7", "+14155550107", "completed")
    assert len(values) == len(LEAD_COLUMNS)


def test_files_carry_every_column_phone_numbers_in_full():
    at = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
    rows = [{"attempt_id": 1, "call_sid": "CA1", "lead_id": 7, "external_id": "crm-7", "to_number": "+14155550107",
             "started_at": at, "ended_at": at, "call_status": "completed", "answered_by": "human", "duration_s": 30,
             "price": Decimal("-0.01300"), "price_unit": "USD", "outcome": "goal_met", "goal_met": True,
             "variables": {"appointment_booked": True, "summary": "a, \"quoted\" one"},
             "transcript": "Hello\nBye", "recording_url": None, "judged_at": at}]
    text = "".join(results.file_lines(rows, ATTEMPT_COLUMNS, "csv", "crm"))
    (parsed,) = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed) == [c.name for c in ATTEMPT_COLUMNS]
    assert parsed["to_number"] == "+14155550107" and parsed["price"] == "-0.01300"
    assert json.loads(parsed["variables"]) == rows[0]["variables"] and parsed["transcript"] == "Hello\nBye"
    assert parsed["goal_met"] == "true" and parsed["recording_url"] == ""
    (line,) = list(results.file_lines(rows, ATTEMPT_COLUMNS, "jsonl", "crm"))
    obj = json.loads(line)
    assert obj["campaign"] == "crm" and obj["started_at"] == "2026-11-02T15:00:00+00:00"
    assert obj["variables"]["appointment_booked"] is True and obj["recording_url"] is None
    with pytest.raises(ValueError, match="allowed csv, jsonl"):
        list(results.file_lines(rows, ATTEMPT_COLUMNS, "xlsx", "crm"))


def test_a_tick_that_changed_nothing_emits_no_event():
    assert not ExportCounts(0, 0)
    counts = ExportCounts(2, 1, {"completed": 2})
    assert counts
    assert counts.event_extra("crm", "crm.r") == {"campaign": "crm", "table": "crm.r", "leads_changed": 2,
                                                  "calls_changed": 1, "leads_by_status": {"completed": 2}}
