from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.campaign import RetryPolicy
from outcall_provider.rules.outcome import Action, CallOutcome, CallResult, LeadProgress, decide, decide_unreachable
from outcall_provider.rules.states import LeadStatus

NOW = datetime(2025, 6, 2, 15, 0, tzinfo=timezone.utc)
ENDED_1M = NOW - timedelta(minutes=1)  # inside the 5-minute grace
ENDED_6M = NOW - timedelta(minutes=6)  # grace expired
LATER = NOW + timedelta(minutes=30)  # interval_minutes below

PLAIN = RetryPolicy(max_attempts=3, interval_minutes=30)
VOICEMAIL = RetryPolicy(max_attempts=3, interval_minutes=30, on_voicemail=True)
GOAL = RetryPolicy(max_attempts=3, interval_minutes=30, until_goal="booked")
GOAL_VM = RetryPolicy(max_attempts=3, interval_minutes=30, on_voicemail=True, until_goal="booked")

FIRST = LeadProgress(round=1, contact_index=0, contact_count=1)  # only contact, round 1
PRIMARY = LeadProgress(round=1, contact_index=0, contact_count=3)  # secondaries follow
SECOND = LeadProgress(round=2, contact_index=1, contact_count=3)  # a secondary, one follows
LAST_CONTACT = LeadProgress(round=2, contact_index=2, contact_count=3)
LAST_ROUND = LeadProgress(round=3, contact_index=0, contact_count=1)
LAST_ROUND_PRIMARY = LeadProgress(round=3, contact_index=0, contact_count=2)

YES, NO = {"booked": True}, {"booked": False}

# policy, progress, result -> action, reason, next_contact_index, next_round, due_at, goal_met
# (the reason says whether a person was reached: reached, goal_met, goal_not_met, variables_*)
ROWS = {
    # completed by a person
    "person, no goal": (PLAIN, FIRST, CallResult("completed", "human"),
                        Action.COMPLETE, "reached", None, None, None, None),
    "unknown AMD counts as person": (PLAIN, PRIMARY, CallResult("completed", "unknown"),
                                     Action.COMPLETE, "reached", None, None, None, None),
    "no AMD counts as person": (PLAIN, SECOND, CallResult("completed", None),
                                Action.COMPLETE, "reached", None, None, None, None),
    "goal met": (GOAL, PRIMARY, CallResult("completed", "human", YES, ENDED_1M),
                 Action.COMPLETE, "goal_met", None, None, None, True),
    "goal not met -> next round, contact 0": (GOAL, SECOND, CallResult("completed", "human", NO, ENDED_1M),
                                              Action.RETRY, "goal_not_met", 0, 3, LATER, False),
    "goal variable missing = not met": (GOAL, FIRST, CallResult("completed", "human", {}, ENDED_1M),
                                        Action.RETRY, "goal_not_met", 0, 2, LATER, False),
    "goal not met, last round": (GOAL, LAST_ROUND, CallResult("completed", "human", NO, ENDED_1M),
                                 Action.MAX_RETRIES, "goal_not_met", None, None, None, False),
    "goal variable truthy but not true": (GOAL, FIRST, CallResult("completed", "human", {"booked": "yes"}, ENDED_1M),
                                          Action.RETRY, "goal_not_met", 0, 2, LATER, False),
    "variables pending, in grace": (GOAL, PRIMARY, CallResult("completed", "human", None, ENDED_1M),
                                    Action.WAIT, "awaiting_variables", None, None, ENDED_1M + timedelta(minutes=5),
                                    None),
    "variables late, grace expired": (GOAL, PRIMARY, CallResult("completed", "human", None, ENDED_6M),
                                      Action.RETRY, "variables_late", 0, 2, LATER, False),
    "variables late, last round": (GOAL, LAST_ROUND, CallResult("completed", "human", None, ENDED_6M),
                                   Action.MAX_RETRIES, "variables_late", None, None, None, False),
    # completed by a machine
    "voicemail left": (PLAIN, PRIMARY, CallResult("completed", "machine_end_beep"),
                       Action.COMPLETE, "voicemail_left", None, None, None, None),
    "voicemail left, goal campaign": (GOAL, FIRST, CallResult("completed", "machine_start"),
                                      Action.COMPLETE, "voicemail_left", None, None, None, None),
    "voicemail, on_voicemail -> next contact": (VOICEMAIL, PRIMARY, CallResult("completed", "machine_start"),
                                                Action.NEXT_CONTACT, "voicemail", 1, 1, NOW, None),
    "voicemail, on_voicemail, last contact": (VOICEMAIL, LAST_CONTACT, CallResult("completed", "machine_end_silence"),
                                              Action.RETRY, "voicemail", 0, 3, LATER, None),
    "voicemail, on_voicemail, last round": (GOAL_VM, LAST_ROUND, CallResult("completed", "machine_end_other"),
                                            Action.MAX_RETRIES, "voicemail", None, None, None, None),
    "fax -> next contact": (PLAIN, SECOND, CallResult("completed", "fax"),
                            Action.NEXT_CONTACT, "fax", 2, 2, NOW, None),
    "fax, only contact": (PLAIN, FIRST, CallResult("completed", "fax"),
                          Action.RETRY, "fax", 0, 2, LATER, None),
    # not answered
    "busy, only contact": (PLAIN, FIRST, CallResult("busy"), Action.RETRY, "busy", 0, 2, LATER, None),
    "no-answer -> next contact": (PLAIN, PRIMARY, CallResult("no-answer"),
                                  Action.NEXT_CONTACT, "no-answer", 1, 1, NOW, None),
    "failed, secondary -> next contact": (GOAL, SECOND, CallResult("failed"),
                                          Action.NEXT_CONTACT, "failed", 2, 2, NOW, None),
    "canceled, last contact": (PLAIN, LAST_CONTACT, CallResult("canceled"),
                               Action.RETRY, "canceled", 0, 3, LATER, None),
    "no-answer, last round": (PLAIN, LAST_ROUND, CallResult("no-answer"),
                              Action.MAX_RETRIES, "no-answer", None, None, None, None),
    "busy, last round but a contact left": (PLAIN, LAST_ROUND_PRIMARY, CallResult("busy"),
                                            Action.NEXT_CONTACT, "busy", 1, 3, NOW, None),
    "answered_by ignored unless completed": (PLAIN, FIRST, CallResult("no-answer", "human"),
                                             Action.RETRY, "no-answer", 0, 2, LATER, None),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_outcome_table(row):
    policy, progress, result, action, reason, contact, rnd, due, goal_met = row
    out = decide(policy, progress, result, NOW)
    assert (out.action, out.reason, out.next_contact_index, out.next_round, out.due_at,
            out.goal_met) == (action, reason, contact, rnd, due, goal_met)


def test_waiting_and_late_say_so_in_the_note():
    waiting = decide(GOAL, FIRST, CallResult("completed", "human", None, ENDED_1M), NOW)
    assert "waiting for post-call variables" in waiting.note
    late = decide(GOAL, FIRST, CallResult("completed", "human", None, ENDED_6M), NOW)
    assert "not received" in late.note


def test_grace_boundary_is_exclusive():
    out = decide(GOAL, FIRST, CallResult("completed", "human", None, NOW - timedelta(minutes=5)), NOW)
    assert out.reason == "variables_late"
    out = decide(GOAL, FIRST, CallResult("completed", "human", None, NOW), NOW, grace=timedelta(0))
    assert out.reason == "variables_late"


def test_the_goal_is_the_policys_until_goal_and_nothing_else():
    """A campaign's goal is its retry.until_goal (Campaign.goal): without one, a variable that
    happens to be called like a goal is not judged."""
    out = decide(PLAIN, FIRST, CallResult("completed", "human", {"booked": True}), NOW)
    assert (out.action, out.goal_met) == (Action.COMPLETE, None)
    out = decide(GOAL, FIRST, CallResult("completed", "human", {"booked": True}, ENDED_1M), NOW)
    assert (out.action, out.goal_met) == (Action.COMPLETE, True)
    out = decide(GOAL_VM, FIRST, CallResult("completed", "human", {"booked": False}, ENDED_1M), NOW)
    assert (out.action, out.goal_met) == (Action.RETRY, False)


@pytest.mark.parametrize("status", ["queued", "initiated", "ringing", "in-progress"])
def test_non_terminal_status_is_an_error(status):
    with pytest.raises(ValueError):
        decide(PLAIN, FIRST, CallResult(status), NOW)


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError):
        decide(PLAIN, FIRST, CallResult("completed", "robot"), NOW)
    with pytest.raises(ValueError):  # the grace cannot be bounded without the end time
        decide(GOAL, FIRST, CallResult("completed", "human", None, None), NOW)
    with pytest.raises(ValueError):
        LeadProgress(round=1, contact_index=-1, contact_count=1)
    with pytest.raises(ValueError):
        LeadProgress(round=0, contact_index=0, contact_count=1)
    with pytest.raises(ValueError):
        LeadProgress(round=1, contact_index=0, contact_count=0)


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "completed"])
def test_a_contact_a_reimport_removed_ends_the_round(status):
    """Issue 8 point 5: the lead was on its 2nd contact, a re-import left it one: the round
    ends (next round from the primary), never another number in the removed one's place."""
    removed = LeadProgress(round=1, contact_index=1, contact_count=1)
    answered_by = "machine_start" if status == "completed" else None
    outcome = decide(VOICEMAIL, removed, CallResult(status, answered_by, ended_at=NOW), NOW)
    assert (outcome.action, outcome.next_round, outcome.next_contact_index) == (Action.RETRY, 2, 0)


def test_action_is_a_string():
    assert Action.MAX_RETRIES == "max_retries"


@pytest.mark.parametrize("progress, dialable, expected", [
    (PRIMARY, True, (Action.NEXT_CONTACT, 1, 1, LeadStatus.RESCHEDULED)),        # on to the secondary, now
    (LAST_CONTACT, True, (Action.RETRY, 3, 0, LeadStatus.RESCHEDULED)),          # round over: next round
    (LAST_ROUND, True, (Action.MAX_RETRIES, None, None, LeadStatus.MAX_RETRIES)),  # last round spent
    (PRIMARY, False, (Action.MAX_RETRIES, None, None, LeadStatus.MAX_RETRIES)),    # nothing left to dial
])
def test_an_unreachable_contact_moves_the_lead_on(progress, dialable, expected):
    """Twilio refused the number for good: like a failed call, with its own reason."""
    out = decide_unreachable(PLAIN, progress, dialable, NOW)
    assert (out.action, out.next_round, out.next_contact_index, out.lead_status) == expected
    assert out.reason == "invalid_number"


@pytest.mark.parametrize("action, status", [
    (Action.COMPLETE, LeadStatus.COMPLETED), (Action.MAX_RETRIES, LeadStatus.MAX_RETRIES),
    (Action.NEXT_CONTACT, LeadStatus.RESCHEDULED), (Action.RETRY, LeadStatus.RESCHEDULED), (Action.WAIT, None)])
def test_each_action_has_one_lead_status(action, status):
    assert CallOutcome(action, "r").lead_status == status
