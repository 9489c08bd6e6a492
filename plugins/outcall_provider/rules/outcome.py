"""What happens to a lead after one of its calls ends (DESIGN.md §1, outcome rules).

A round dials the lead's contacts in order (primary first) until one reaches a person; a call
that does not reach a person moves on to the next contact at once. After the last contact, or
after a person who did not meet the goal, the round ends: the lead waits `interval_minutes`
for the next round, or gets `max_retries` when the last round (`max_attempts`) is spent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from .campaign import RetryPolicy
from .states import TERMINAL_CALL_STATUSES, CallStatus, LeadStatus
from .twilio_errors import INVALID_NUMBER

# Twilio's AMD answers; 'unknown' (and no AMD at all) count as a person, so a lead is never
# redialled because detection was unsure.
_PERSON = (None, "human", "unknown")
_MACHINES = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other")


# Outcome reasons `decide` gives when a person answered (the goal met or not, or their
# variables late): the Campaigns funnel's "reached a person". Voicemail, fax and calls not
# answered are not.
REACHED_A_PERSON_REASONS = ("reached", "goal_met", "goal_not_met", "variables_late")


@dataclass(frozen=True)
class CallResult:
    status: str
    answered_by: str | None = None
    variables: dict | None = None  # None = post-call variables not received (yet)
    ended_at: datetime | None = None


@dataclass(frozen=True)
class LeadProgress:
    round: int  # 1-based; max_attempts counts rounds
    contact_index: int  # 0 = primary, then secondaries in the order they were added
    contact_count: int  # contacts of the lead now, >= 1; an index past the last one means a
    # re-import removed the contact being dialed: the round ends there

    def __post_init__(self):
        if self.round < 1 or self.contact_index < 0 or self.contact_count < 1:
            raise ValueError(f"inconsistent lead progress: {self}")


class Action(str, Enum):
    COMPLETE = "complete"
    NEXT_CONTACT = "next_contact"
    RETRY = "retry"
    MAX_RETRIES = "max_retries"
    WAIT = "wait"


# The lead's status after an attempt is judged with this action (WAIT judges nothing).
LEAD_STATUS_AFTER = {
    Action.COMPLETE: LeadStatus.COMPLETED,
    Action.MAX_RETRIES: LeadStatus.MAX_RETRIES,
    Action.NEXT_CONTACT: LeadStatus.RESCHEDULED,
    Action.RETRY: LeadStatus.RESCHEDULED,
}


@dataclass(frozen=True)
class CallOutcome:
    action: Action
    reason: str
    next_contact_index: int | None = None
    next_round: int | None = None
    due_at: datetime | None = None
    goal_met: bool | None = None
    note: str = ""
    opted_out: bool = False  # the callee asked not to be called again: their number goes on the DNC list

    @property
    def lead_status(self) -> LeadStatus | None:
        """The lead's status once this outcome is applied (None: WAIT, nothing is applied)."""
        return LEAD_STATUS_AFTER.get(self.action)


def decide(policy: RetryPolicy, progress: LeadProgress, result: CallResult, now: datetime,
           grace: timedelta = timedelta(minutes=5), opt_out_variable: str | None = None) -> CallOutcome:
    if result.status not in TERMINAL_CALL_STATUSES:
        raise ValueError(f"call status {result.status!r} is not terminal; allowed {TERMINAL_CALL_STATUSES}")
    goal = policy.until_goal
    goal_met = None if goal is None or result.variables is None else result.variables.get(goal) is True
    if opt_out_variable and result.variables and result.variables.get(opt_out_variable) is True:
        # A person's "don't call me again" ends the lead whatever the goal (compliance.opt_out_variable).
        return CallOutcome(Action.COMPLETE, "opted_out", goal_met=goal_met, opted_out=True,
                           note=f"{opt_out_variable} was true: the number is on the do-not-call list")
    answered_by = result.answered_by if result.status == CallStatus.COMPLETED else None

    if result.status != CallStatus.COMPLETED:
        return _not_reached(policy, progress, now, result.status, goal_met)
    if answered_by == "fax":
        return _not_reached(policy, progress, now, "fax", goal_met)
    if answered_by in _MACHINES:
        if policy.on_voicemail:
            return _not_reached(policy, progress, now, "voicemail", goal_met)
        return CallOutcome(Action.COMPLETE, "voicemail_left", goal_met=goal_met)
    if answered_by not in _PERSON:
        raise ValueError(f"unknown answered_by {answered_by!r}")

    if policy.until_goal is None:
        return CallOutcome(Action.COMPLETE, "reached", goal_met=goal_met)
    if result.variables is None:
        if result.ended_at is None:
            raise ValueError("ended_at is required to bound the wait for post-call variables")
        deadline = result.ended_at + grace
        if now < deadline:
            return CallOutcome(Action.WAIT, "awaiting_variables", due_at=deadline,
                               note=f"waiting for post-call variables until {deadline.isoformat()}")
        return _end_of_round(policy, progress, now, "variables_late", False,
                             note=f"post-call variables not received within {grace}; goal judged not met")
    if result.variables.get(policy.until_goal) is True:
        return CallOutcome(Action.COMPLETE, "goal_met", goal_met=goal_met)
    # A person was reached but said no: try again next round, not their other numbers now.
    return _end_of_round(policy, progress, now, "goal_not_met", goal_met)


def decide_unreachable(policy: RetryPolicy, progress: LeadProgress, has_dialable_contact: bool,
                       now: datetime, reason: str = INVALID_NUMBER) -> CallOutcome:
    """A contact Twilio refused (reason "invalid_number", or "destination_refused" when the
    account may not call its destination: rules/twilio_errors.py), a re-import removed, or that
    is on a do-not-call list (reason "do_not_call") was not dialed: the lead goes on like after
    a failed call, to its next contact or round; with no dialable contact left at all it is out
    of attempts."""
    if not has_dialable_contact:
        return CallOutcome(Action.MAX_RETRIES, reason, note="no dialable contact left")
    return _not_reached(policy, progress, now, reason, None)


def _not_reached(policy, progress, now, reason, goal_met) -> CallOutcome:
    if progress.contact_index + 1 < progress.contact_count:
        return CallOutcome(Action.NEXT_CONTACT, reason, next_contact_index=progress.contact_index + 1,
                           next_round=progress.round, due_at=now, goal_met=goal_met)
    return _end_of_round(policy, progress, now, reason, goal_met)


def _end_of_round(policy, progress, now, reason, goal_met, note="") -> CallOutcome:
    if progress.round >= policy.max_attempts:
        return CallOutcome(Action.MAX_RETRIES, reason, goal_met=goal_met, note=note)
    return CallOutcome(Action.RETRY, reason, next_contact_index=0, next_round=progress.round + 1,
                       due_at=now + timedelta(minutes=policy.interval_minutes), goal_met=goal_met, note=note)
