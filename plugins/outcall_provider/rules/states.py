"""The vocabulary: every status a lead, a call and a campaign can have, defined once.

Python imports these; the API hands the lists to the page. Values are the strings stored in
the campaign store and shown to people.
"""
from __future__ import annotations

from enum import Enum


class LeadStatus(str, Enum):
    CREATED = "created"          # ready to be dialed (never called in this cycle)
    SCHEDULED = "scheduled"      # claimed by a dialer for its next call
    PROCESSING = "processing"    # an attempt is written: a call is being placed or in flight
    RESCHEDULED = "rescheduled"  # waiting for its next contact or round
    COMPLETED = "completed"      # reached, goal met, or stopped by a person
    MAX_RETRIES = "max_retries"  # every round spent without success


class CallStatus(str, Enum):
    """Twilio's call statuses."""
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"


class CampaignStatus(str, Enum):
    DRAFT = "draft"              # never started (its DAG was never unpaused)
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"            # its DAG is paused; resumes with nothing lost
    COMPLETED = "completed"      # every lead terminal


class PageStatus(str, Enum):
    """What the Campaigns page shows: the campaign's status, or that its file is invalid (Airflow
    dropped its DAG; the store keeps its leads and calls until the file is fixed). Never stored."""
    DRAFT = CampaignStatus.DRAFT.value
    IN_PROGRESS = CampaignStatus.IN_PROGRESS.value
    PAUSED = CampaignStatus.PAUSED.value
    COMPLETED = CampaignStatus.COMPLETED.value
    INVALID_FILE = "invalid_file"


class HoldReason(str, Enum):
    """Why a lead is not dialable at a given moment (`outcall preview --json`, the page)."""
    CAMPAIGN_WINDOW = "campaign_window"          # outside schedule.hours/days (assistant's clock)
    RECIPIENT_HOURS = "recipient_hours"          # outside compliance.recipient_hours in a callee zone
    NO_COMMON_HOUR = "no_common_hour"            # its zones never share an allowed hour: never called
    STATE_RULE = "state_rule"                    # outside a state's calling hours or days
    DNC = "dnc"                                  # the number is on a do-not-call list
    FREQUENCY_CAP = "frequency_cap"              # the number had its calls in the rolling period
    NO_CONSENT = "no_consent"                    # compliance.require_consent and no consent_at
    NOT_DUE = "not_due"                          # waiting for its next attempt, or claimed / in a call
    TERMINAL = "terminal"                        # completed or max_retries
    NO_DIALABLE_CONTACT = "no_dialable_contact"  # no number left that Twilio accepts


LEAD_STATUSES = tuple(s.value for s in LeadStatus)
TERMINAL_LEAD_STATUSES = (LeadStatus.COMPLETED.value, LeadStatus.MAX_RETRIES.value)
# Not claimed by any dialer: dialed once `due_at` has come.
WAITING_LEAD_STATUSES = (LeadStatus.CREATED.value, LeadStatus.RESCHEDULED.value)
# A person may set a lead back to `created` (call it again) or to `completed` (stop calling it).
HAND_SET_LEAD_STATUSES = (LeadStatus.CREATED.value, LeadStatus.COMPLETED.value)
CAMPAIGN_STATUSES = tuple(s.value for s in CampaignStatus)
PAGE_STATUSES = tuple(s.value for s in PageStatus)
HOLD_REASONS = tuple(r.value for r in HoldReason)
CALL_STATUSES = tuple(s.value for s in CallStatus)
# A call in one of these has ended: Twilio will not change its status again.
TERMINAL_CALL_STATUSES = (CallStatus.COMPLETED.value, CallStatus.BUSY.value, CallStatus.NO_ANSWER.value,
                          CallStatus.FAILED.value, CallStatus.CANCELED.value)
