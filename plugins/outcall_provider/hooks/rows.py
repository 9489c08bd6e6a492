"""Rows the call engine reads from the campaign store, typed.

Each class has exactly the columns its query selects (sql/queries/<name>.sql): a column added
to the query without a field here fails loudly at the first read, not deep in the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ClaimedLead:
    """A lead claimed for its next call, with the contact to dial (claim_due_leads)."""
    id: int
    cycle: int                   # bumped when a person sets the lead back to `created`
    round: int                   # 1-based round of calls through the lead's contacts
    contact_index: int           # the contact this call goes to
    contact_count: int
    phone_number: str            # the lead's first contact
    external_id: str | None
    variables: dict[str, Any] | None
    last_outcome: str | None
    to_number: str | None        # the contact's number, None if it has none
    invalid_reason: str | None   # why this contact cannot be dialed, if it cannot
    callee_clock_id: int | None = None  # where the callee may be (outcall_callee_clocks)
    consent_at: datetime | None = None
    suppressed: bool = False     # the contact's number is on a do-not-call list


@dataclass(frozen=True)
class OpenAttempt:
    """An attempt whose call is placed and not judged yet (attempt_open)."""
    id: int
    lead_id: int
    cycle: int
    round: int
    contact_index: int
    call_sid: str
    call_status: str
    to_number: str
    from_number: str
    started_at: datetime
    answered_by: str | None
    ended_at: datetime | None
    record_read_at: datetime | None        # when Twilio's final record was read
    variables: dict[str, Any] | None       # the assistant's post-call variables, if they came
    variables_received_at: datetime | None
    contact_count: int                     # the lead's now (a re-import may have changed it)


@dataclass(frozen=True)
class OrphanAttempt:
    """An attempt written without a call SID that no live dialer holds (attempt_orphans)."""
    id: int
    lead_id: int
    cycle: int
    to_number: str
    from_number: str
    started_at: datetime


@dataclass(frozen=True)
class PricePending:
    """A judged call whose price Twilio had not filled in yet (attempt_price_pending)."""
    id: int
    call_sid: str
    started_at: datetime
    price_checks: int
