"""Which Twilio codes blame a number, a destination, or the account (rules/twilio_errors.py)."""
import pytest

from outcall_provider.rules.twilio_errors import (
    ACCOUNT_ERROR_HINTS,
    DESTINATION_ERROR_HINTS,
    MIN_ALIKE_REFUSALS,
    NUMBER_ERROR_CODES,
    blames_the_contact,
    mark_is_number_error,
    refusal_outcome,
    refusal_reason,
    refused_alike,
)


@pytest.mark.parametrize("code", [21215, 13227, 32205, 32018])
def test_a_destination_refusal_is_the_contacts_not_the_accounts(code):
    assert blames_the_contact(code)
    assert code not in ACCOUNT_ERROR_HINTS and code not in NUMBER_ERROR_CODES
    assert refusal_outcome(code) == "destination_refused"
    # its own reason, not "invalid number": a re-import does not keep it as a bad number's mark
    assert not refusal_reason(code).startswith("invalid number")
    assert not mark_is_number_error(refusal_reason(code))


def test_the_reason_says_what_refused_the_destination():
    assert refusal_reason(21215) == "Twilio 21215: the account's geographic permissions do not allow this destination"
    assert "4,000 characters" in refusal_reason(32018)


def test_a_bad_number_keeps_its_invalid_number_mark():
    assert refusal_reason(21211) == "invalid number (Twilio 21211)"
    assert refusal_outcome(21211) == "invalid_number" and mark_is_number_error(refusal_reason(21211))
    assert not blames_the_contact(21210) and not blames_the_contact(None)


@pytest.mark.parametrize("attempted, refusals, blamed", [
    (3, [21215, 21215, 21215], 21215),           # every call refused alike: the account, probably
    (4, [21215, 21215, 21215], None),            # one call got through
    (3, [21215, 13227, 21215], None),            # not the same way
    (3, [21211, 21211, 21211], None),            # bad numbers are the numbers'
    (MIN_ALIKE_REFUSALS - 1, [32205] * (MIN_ALIKE_REFUSALS - 1), None),  # too few to say
    (0, [], None),
])
def test_only_a_batch_refused_alike_blames_the_account(attempted, refusals, blamed):
    assert refused_alike(attempted, refusals) == blamed


def test_every_destination_code_says_what_to_do():
    for code, (why, fix) in DESTINATION_ERROR_HINTS.items():
        assert why and fix, code
