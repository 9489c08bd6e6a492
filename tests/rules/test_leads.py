"""Lead rows as pure rules: what a row becomes, what a header may be, what an error shows."""
from __future__ import annotations

from decimal import Decimal

import pytest

from outcall_provider.rules.leads import MAX_EXTERNAL_ID, LeadFileError, parse_row, read_header, text_row

COLS = read_header(["phone_number", "external_id", "score"], "leads.csv")


@pytest.mark.parametrize("value, text", [
    ("NaN", "NaN"), ("Infinity", "Infinity"), ("-inf", "-inf"),
    (float("nan"), "nan"), (float("-inf"), "-inf"), (Decimal("NaN"), "NaN"), (None, ""), (7, "7"),
])
def test_variables_are_text_whatever_the_source_hands_over(value, text):
    lead, problems = parse_row(COLS, text_row(["+14155550101", "crm-1", value]), 2, None)
    assert lead.variables == {"score": text} and problems == []


def test_an_external_id_too_long_for_the_index_rejects_the_row():
    assert parse_row(COLS, ["+14155550101", "x" * MAX_EXTERNAL_ID, ""], 2, None)[0] is not None
    lead, [problem] = parse_row(COLS, ["+14155550101", "x" * (MAX_EXTERNAL_ID + 1), ""], 7, None)
    assert lead is None
    assert (problem.line, problem.field, problem.skipped_row) == (7, "external_id", True)
    assert problem.reason == f"is longer than {MAX_EXTERNAL_ID} characters" and len(problem.value) < 50


@pytest.mark.parametrize("name", ["note\x00s", "Jos\udce9"])
def test_a_header_that_is_not_utf8_text_is_a_file_error(name):
    with pytest.raises(LeadFileError, match="line 1: the header row is not UTF-8 text"):
        read_header(["phone_number", name], "leads.csv")


def test_file_errors_show_no_full_phone_number():
    with pytest.raises(LeadFileError) as e:
        read_header(["+1 415 555 0101", "Ana"], "leads.csv")
    assert "+*******0101" in str(e.value) and "555 0101" not in str(e.value)
    assert e.value.errors == [str(e.value).removeprefix("leads.csv: ")]


def test_a_column_named_like_an_outcall_call_parameter_is_dropped_and_the_rest_kept():
    from outcall_provider.rules.twiml import OUTCALL_PARAMETERS

    cols = read_header(["phone_number", "lead_id", "first_name", "campaign"], "leads.csv")
    assert cols.variables == (("first_name", 2),)
    assert [(p.line, p.field, p.value, p.skipped_row) for p in cols.dropped] == [
        (1, "lead_id", None, False), (1, "campaign", None, False)]
    reason = cols.dropped[0].reason
    assert "column `lead_id` is not imported" in reason
    assert all(f"`{name}`" in reason for name in OUTCALL_PARAMETERS)
    lead, problems = parse_row(cols, ["+14155550101", "999", "Ana", "other"], 2, None)
    assert lead.variables == {"first_name": "Ana"} and problems == []


def test_variables_that_would_push_the_stream_twiml_past_4000_characters_reject_the_row():
    from outcall_provider.rules.twiml import twiml_budget

    budget = twiml_budget("wss://assistant.example.com/media", "spring")
    cols = read_header(["phone_number", "first_name", "note"], "leads.csv")
    room = 4000 - budget.overhead - len('<Parameter name="first_name" value="Ana"/><Parameter name="note" value=""/>')
    lead, problems = parse_row(cols, ["+14155550101", "Ana", "n" * room], 2, None, twiml=budget)
    assert lead is not None and problems == []
    lead, [problem] = parse_row(cols, ["+14155550101", "Ana", "n" * (room + 1)], 9, None, twiml=budget)
    assert lead is None
    assert (problem.line, problem.field, problem.skipped_row) == (9, "note", True)
    assert "4001 characters" in problem.reason and "4000" in problem.reason and "32018" in problem.reason
    assert len(problem.value) < 50
    # without a TwiML (a voice_url campaign) the same row is a lead
    assert parse_row(cols, ["+14155550101", "Ana", "n" * (room + 1)], 9, None)[0] is not None
