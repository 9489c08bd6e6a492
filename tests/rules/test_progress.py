"""Campaign-level rules, table-tested."""
from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.campaign import RetryPolicy
from outcall_provider.rules.outcome import REACHED_A_PERSON_REASONS, CallResult, LeadProgress, decide
from outcall_provider.rules.progress import is_completed, page_status
from outcall_provider.rules.states import PageStatus


@pytest.mark.parametrize("leads, open_leads, open_attempts, done", [
    (10, 0, 0, True),    # every lead terminal, nothing to judge
    (10, 1, 0, False),   # a lead still to call
    (10, 0, 1, False),   # a call still to judge
    (0, 0, 0, False),    # no leads yet: not completed, just empty
])
def test_a_campaign_is_completed_when_every_lead_is_terminal(leads, open_leads, open_attempts, done):
    assert is_completed(leads, open_leads, open_attempts) is done


@pytest.mark.parametrize("store_status, dag_paused, shown", [
    ("completed", False, PageStatus.COMPLETED),  # the store decides completion
    ("completed", None, PageStatus.COMPLETED),
    ("draft", True, PageStatus.DRAFT),           # never started
    ("draft", None, PageStatus.DRAFT),           # DAG not loaded yet
    ("in_progress", True, PageStatus.PAUSED),    # the DAG was paused
    ("paused", None, PageStatus.PAUSED),
    ("draft", False, PageStatus.IN_PROGRESS),    # unpaused: running
    ("paused", False, PageStatus.IN_PROGRESS),
])
def test_the_page_shows_the_store_and_the_dag_together(store_status, dag_paused, shown):
    assert page_status(store_status, dag_paused) is shown


@pytest.mark.parametrize("store_status, dag_paused", [
    ("in_progress", None),   # a typo in a running campaign: Airflow dropped its DAG (was shown `paused`)
    ("in_progress", False),  # the DAG is not marked stale yet: still not `in_progress`
    ("paused", True),
    ("draft", None),         # a new file with a typo
    ("completed", None),     # even a finished campaign: its file is what the person must fix
])
def test_an_invalid_campaign_file_is_shown_as_such_whatever_the_store_and_dag_say(store_status, dag_paused):
    assert page_status(store_status, dag_paused, file_valid=False) is PageStatus.INVALID_FILE


# The funnel's "reached a person" (rules/outcome.REACHED_A_PERSON_REASONS) is every reason
# `decide` gives when a person answered, and none it gives otherwise.
_GOAL = RetryPolicy(max_attempts=3, interval_minutes=30, until_goal="booked")
_PLAIN = RetryPolicy(max_attempts=3, interval_minutes=30, on_voicemail=True)
_NOW = datetime(2025, 3, 12, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("policy, result, a_person", [
    (_PLAIN, CallResult("completed", "human"), True),                        # reached
    (_GOAL, CallResult("completed", "human", {"booked": True}), True),       # goal_met
    (_GOAL, CallResult("completed", "unknown", {"booked": False}), True),    # goal_not_met
    (_GOAL, CallResult("completed", None, None, _NOW - timedelta(hours=1)), True),  # variables_late
    (_PLAIN, CallResult("completed", "machine_start"), False),               # voicemail
    (RetryPolicy(), CallResult("completed", "machine_end_beep"), False),     # voicemail_left
    (_PLAIN, CallResult("completed", "fax"), False),
    (_PLAIN, CallResult("busy"), False),
    (_PLAIN, CallResult("no-answer"), False),
    (_PLAIN, CallResult("failed"), False),
])
def test_reached_a_person_is_every_reason_decide_gives_when_a_person_answered(policy, result, a_person):
    outcome = decide(policy, LeadProgress(round=1, contact_index=0, contact_count=1), result, _NOW)
    assert (outcome.reason in REACHED_A_PERSON_REASONS) is a_person, outcome.reason
