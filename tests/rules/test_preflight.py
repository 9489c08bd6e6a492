"""Preflight blocks only on what stops every call of the campaign (issue 8 point 10)."""
import dataclasses

import pytest

from outcall_provider.rules.preflight import PreflightFacts, check

OK = PreflightFacts(caller_ids=("+14155550100",), not_owned=(), account_sid="AC1", twilio_conn_id="twilio_default",
                    balance=20.0, currency="USD", min_balance=1.0, leads=100, undialable_leads=0)


@pytest.mark.parametrize("change, blocks, says", [
    ({}, False, None),
    ({"undialable_leads": 3}, False, "3 of 100 leads have no dialable phone number"),   # a warning only
    ({"undialable_leads": 100}, True, "none of the campaign's 100 leads"),
    ({"leads": 0}, True, "has no leads"),
    ({"not_owned": ("+14155550100",)}, True, "+*******0100 does not belong to the Twilio account AC1"),
    ({"balance": 0.5}, True, "balance is 0.50 USD, below the floor of 1.00"),
])
def test_only_campaign_wide_problems_block(change, blocks, says):
    result = check(dataclasses.replace(OK, **change))
    assert result.passed is not blocks
    said = result.problems if blocks else result.warnings
    assert (says is None and not said) or any(says in s for s in said)


def test_every_problem_is_named_at_once():
    result = check(dataclasses.replace(OK, not_owned=("+14155550100",), balance=0.0, leads=0))
    assert len(result.problems) == 3 and not result.warnings


def test_a_balance_not_reported_is_said_and_not_checked():
    """A subaccount's Balance may be null (its balance is its parent's): the floor is not checked."""
    result = check(dataclasses.replace(OK, balance=None, min_balance=1000.0))
    assert result.passed
    assert any("the balance is not reported for this account" in w and "the floor is not checked" in w
               for w in result.warnings)
