"""What outcall hands the assistant on a call, and what fits in Twilio's 4,000-character TwiML."""
from __future__ import annotations

from outcall_provider.rules.twiml import (
    OUTCALL_PARAMETERS,
    TWIML_MAX_CHARS,
    call_parameters,
    stream_twiml,
    twiml_budget,
)

URL = "wss://assistant.example.com/media"


def test_outcall_names_its_own_parameters_once():
    assert OUTCALL_PARAMETERS == ("lead_id", "campaign")
    assert call_parameters(7, "spring") == {"lead_id": "7", "campaign": "spring"}


def test_the_stream_twiml_holds_outcall_ids_first_and_they_win_over_a_variable_of_the_same_name():
    twiml = stream_twiml(URL, call_parameters(7, "spring"), {"campaign": "other", "note": 'say "hi" <now> & go'})
    assert twiml == ('<Response><Connect><Stream url="wss://assistant.example.com/media">'
                     '<Parameter name="lead_id" value="7"/><Parameter name="campaign" value="spring"/>'
                     "<Parameter name=\"note\" value='say \"hi\" &lt;now&gt; &amp; go'/>"
                     '</Stream></Connect></Response>')


def test_the_fixed_overhead_is_the_twiml_of_the_longest_lead_id_and_this_campaign():
    budget = twiml_budget(URL, "spring")
    assert budget.overhead == len(
        '<Response><Connect><Stream url="wss://assistant.example.com/media">'
        '<Parameter name="lead_id" value="9223372036854775807"/>'  # a bigint lead id at its largest
        '<Parameter name="campaign" value="spring"/></Stream></Connect></Response>')
    longer = twiml_budget(URL + "/" + "x" * 100, "spring_renewals_2026")
    assert longer.overhead == budget.overhead + 101 + len("_renewals_2026")


def test_a_variable_that_fills_the_twiml_to_4000_characters_fits_one_more_does_not():
    budget = twiml_budget(URL, "spring")
    one = len('<Parameter name="note" value=""/>')
    room = TWIML_MAX_CHARS - budget.overhead - one
    assert budget.too_long({"note": "a" * room}) is None
    assert budget.size({"note": "a" * room}) == TWIML_MAX_CHARS
    assert budget.too_long({"note": "a" * (room + 1)}) == ("note", TWIML_MAX_CHARS + 1)
    # escaping counts: `&` is sent as `&amp;`, five characters
    assert budget.too_long({"note": "a" * (room - 5) + "&"}) is None
    assert budget.too_long({"note": "a" * (room - 4) + "&"}) == ("note", TWIML_MAX_CHARS + 1)


def test_the_variable_blamed_is_the_one_taking_the_most_room():
    budget = twiml_budget(URL, "spring")
    assert budget.too_long({"a": "x" * 1500, "b": "y" * 2500, "c": "z"})[0] == "b"


def test_a_voice_url_campaign_has_no_twiml_to_fill():
    assert twiml_budget(None, "spring") is None
