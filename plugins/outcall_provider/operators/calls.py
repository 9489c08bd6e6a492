"""The call engine behind the operators: dial claimed leads and reconcile their calls.

Plain classes over a CampaignHook and a TwilioHook, so the same code runs in an Airflow task,
the CLI, a benchmark or a crash test. Decisions take `now` from one injectable clock.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Callable

from outcall_provider import clock as default_clock
from outcall_provider.hooks.twilio import CallInfo, CallNotPlaced, CallOutcomeUnknown
from outcall_provider.rules.campaign import Campaign
from outcall_provider.rules.outcome import (
    TERMINAL_CALL_STATUSES,
    Action,
    CallOutcome,
    CallResult,
    LeadProgress,
    decide,
)
from outcall_provider.rules.phone import mask_phone

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=5)      # our clock vs Twilio's, when matching calls by time
LIST_INSTEAD_OF_FETCH = 20             # from this many open calls, one list beats many fetches
ORPHAN_GRACE = timedelta(seconds=30)   # a SID-less attempt younger than this may still be dialing
STALE_CLAIM = timedelta(minutes=20)    # a claim nobody dialed for this long was left by a crash
REFILL_CLAIM = 10                      # leads a refilling dialer claims at a time


@dataclasses.dataclass
class DialReport:
    placed: int = 0
    skipped_invalid: int = 0
    released: int = 0
    already_recorded: int = 0
    unresolved: int = 0
    window_closed: bool = False


@dataclasses.dataclass
class ReconcileReport:
    updated: int = 0
    judged: int = 0
    waiting_for_variables: int = 0
    orphans_bound: int = 0
    orphans_not_placed: int = 0
    stale_claims_released: int = 0
    twilio_requests: int = 0


class CallEngine:
    """Dials and reconciles one campaign."""

    def __init__(self, store, twilio, campaign: Campaign, campaign_id: int, *,
                 clock: Callable[[], datetime] = default_clock.now, sleep: Callable[[float], None] = time.sleep,
                 poll_interval: float = 1.0, variables_grace: timedelta = timedelta(minutes=5),
                 orphan_grace: timedelta = ORPHAN_GRACE):
        self.store, self.twilio, self.campaign, self.campaign_id = store, twilio, campaign, campaign_id
        self.clock, self.sleep, self.poll_interval = clock, sleep, poll_interval
        self.variables_grace, self.orphan_grace = variables_grace, orphan_grace
        self.window = campaign.window()

    # -- dialing -------------------------------------------------------------------------
    def dial(self, leads: list[dict], *, deadline: datetime | None = None, refill: bool = False,
             keep_going: Callable[[], bool] = lambda: True) -> DialReport:
        """Dial claimed leads, never more than max_calls_in_parallel at once and only inside
        the calling window (checked right before each call). With `refill`, keep claiming due
        leads as calls end until `deadline`, so the lines stay busy. `keep_going` is asked
        before each call (a paused DAG stops new calls). Leads not dialed are released."""
        report = DialReport()
        queue = deque(leads)
        try:
            while keep_going():
                now = self.clock()
                if deadline is not None and now >= deadline:
                    break
                if not self.window.is_open(now):
                    opens = self.window.next_open(now)
                    if refill and deadline is not None and opens < deadline and not queue:
                        # the window opens during this tick: be there when it does
                        self.sleep(min(self.poll_interval, (opens - now).total_seconds()))
                        continue
                    report.window_closed = True
                    break
                if not queue:
                    if not refill:
                        break
                    in_flight = self.store.in_flight(self.campaign_id)
                    room = self.campaign.max_calls_in_parallel - in_flight
                    if room > 0:  # claim only what can be dialed now: claims wait for no one
                        queue.extend(self.store.claim_due_leads(self.campaign_id, now, min(room, REFILL_CLAIM)))
                    if not queue:
                        # wait while a call may end, or a lead fall due, before the deadline
                        if deadline is None or not (in_flight or self._lead_due_before(deadline)):
                            break
                        self._wait_for_a_free_line()
                        continue
                lead = queue.popleft()
                result = self._dial_one(lead, report)
                if result == "full":
                    queue.appendleft(lead)
                    self._wait_for_a_free_line()
        finally:
            leftover = [lead["id"] for lead in queue]
            self.store.release_leads(leftover, self.clock())
            report.released += len(leftover)
        return report

    def _lead_due_before(self, deadline: datetime) -> bool:
        next_due = self.store.next_due_at(self.campaign_id)
        return next_due is not None and next_due < deadline

    def _wait_for_a_free_line(self) -> None:
        self.sleep(self.poll_interval)
        self.reconcile(in_flight_only=True)

    def _dial_one(self, lead: dict, report: DialReport) -> str:
        now = self.clock()
        if lead.get("invalid_reason"):
            self._skip_invalid_contact(lead, lead["invalid_reason"], now)
            report.skipped_invalid += 1
            return "skipped"
        from_number = self.campaign.assistant.phone_number
        attempt_id = self.store.record_attempt(self.campaign_id, lead, lead["to_number"], from_number, now,
                                               max_in_flight=self.campaign.max_calls_in_parallel)
        if attempt_id == "full":
            return "full"
        if attempt_id is None:
            # This exact attempt was written before (a retried task): reconciliation resolves
            # it from Twilio's own records. Dialing again could call the person twice.
            report.already_recorded += 1
            return "recorded"
        refused: CallNotPlaced | None = None
        with self.store.attempt_locked(attempt_id) as attempt:
            started = self.store.pace(self._account_sid(), self.twilio.calls_per_second, self.clock, self.sleep)
            if not self.window.is_open(started):  # the wait for a CPS slot may end past the window
                attempt.drop_unplaced(self.clock())
                report.window_closed = True
                return "closed"
            try:
                sid = self._place_once(lead, from_number, started)
            except CallNotPlaced as e:
                attempt.set_failed(f"Twilio {e.code}: {e.message}")
                refused = e
            else:
                if sid is None:
                    # Reconciliation resolves it from Twilio's records once this lock is gone.
                    attempt.set_error("Twilio did not answer the create request; call not found yet")
                    report.unresolved += 1
                    return "unresolved"
                attempt.set_sid(sid)
        if refused is not None:
            self._attempt_refused(attempt_id, lead, refused)
            report.skipped_invalid += 1
            return "refused"
        report.placed += 1
        log.info("lead %s: dialed %s (call %s)", lead["id"], mask_phone(lead["to_number"]), sid)
        return "placed"

    def _place_once(self, lead: dict, from_number: str, started: datetime) -> str | None:
        """Place the call; after an answer we cannot trust (5xx, timeout), look for it in
        Twilio's records before dialing again, so a person is never called twice."""
        for _ in range(2):
            try:
                return self._place(lead, from_number)
            except CallOutcomeUnknown as e:
                log.warning("lead %s: %s; looking for the call before dialing again", lead["id"], e)
                sid = self._find_call(lead["to_number"], from_number, started)
                if sid is not None:
                    return sid
        return None

    def _place(self, lead: dict, from_number: str) -> str:
        params = {"lead_id": lead["id"], "campaign": self.campaign.name,
                  **{k: v for k, v in (lead.get("variables") or {}).items()}}
        assistant = self.campaign.assistant
        return self.twilio.place_call(lead["to_number"], from_number, voice_url=assistant.voice_url,
                                      stream_url=assistant.stream_url, parameters=params)

    def _find_call(self, to: str, from_: str, since: datetime) -> str | None:
        """The call Twilio placed for this attempt, if any (calls create has no idempotency key)."""
        calls = [c for c in self.twilio.list_calls(to=to, from_=from_, start_time_after=since - CLOCK_SKEW)
                 if c.date_created is None or c.date_created >= since - CLOCK_SKEW]
        fresh = [c for c in calls if c.sid not in self.store.known_sids([c.sid for c in calls])]
        return min(fresh, key=lambda c: c.date_created or since).sid if fresh else None

    def _attempt_refused(self, attempt_id: int, lead: dict, error: CallNotPlaced) -> None:
        now = self.clock()
        reason = f"invalid number (Twilio {error.code})"
        has_dialable = self.store.mark_contact_invalid(lead["id"], lead["contact_index"], reason)
        outcome = self._judge_unreachable(lead, has_dialable, now)
        self.store.apply_outcome(attempt_id, lead["cycle"], outcome, now)

    def _skip_invalid_contact(self, lead: dict, reason: str, now: datetime) -> None:
        has_dialable = self.store.mark_contact_invalid(lead["id"], lead["contact_index"], reason)
        self.store.apply_lead_outcome(lead["id"], lead["cycle"], self._judge_unreachable(lead, has_dialable, now), now)

    def _judge_unreachable(self, lead: dict, has_dialable: bool, now: datetime) -> CallOutcome:
        if not has_dialable:
            return CallOutcome(Action.MAX_RETRIES, "invalid_number", note="no dialable contact left")
        progress = LeadProgress(lead["round"], lead["contact_index"], lead["contact_count"])
        outcome = decide(self.campaign.retry, progress, CallResult("failed", ended_at=now), now,
                         goal=self.campaign.goal, grace=self.variables_grace)
        return dataclasses.replace(outcome, reason="invalid_number")

    def _account_sid(self) -> str:
        self.twilio.get_conn()
        return self.twilio.account_sid

    # -- reconciliation -----------------------------------------------------------------
    def reconcile(self, *, in_flight_only: bool = False) -> ReconcileReport:
        """Bring every open attempt up to date from Twilio and judge the finished ones.
        Twilio's records are the truth; status callbacks only make this quicker.
        `in_flight_only` (a dialer between calls) skips the crash recovery work."""
        report = ReconcileReport()
        now = self.clock()
        if not in_flight_only:
            self._resolve_orphans(now, report)
            report.stale_claims_released = self.store.release_stale_claims(
                self.campaign_id, now - STALE_CLAIM, now)
        open_attempts = self.store.open_attempts(self.campaign_id)
        calls = self._calls_for([a for a in open_attempts if a["call_status"] not in TERMINAL_CALL_STATUSES],
                                report)
        for attempt in open_attempts:
            call = calls.get(attempt["call_sid"])
            if call is not None and call.status != attempt["call_status"]:
                self._record(attempt, call)
                report.updated += 1
            status = call.status if call is not None else attempt["call_status"]
            if status in TERMINAL_CALL_STATUSES:
                self._judge(attempt, call, status, report)
        return report

    def _record(self, attempt: dict, call: CallInfo) -> None:
        self.store.update_attempt_call(
            attempt["id"], call.status, answered_by=call.answered_by, duration_s=call.duration_s,
            price=call.price, price_unit=call.price_unit,
            ended_at=call.end_time if call.status in TERMINAL_CALL_STATUSES else None)

    def _calls_for(self, attempts: list[dict], report: ReconcileReport) -> dict[str, CallInfo]:
        """Twilio's record of each attempt's call: one list when many are open."""
        if not attempts:
            return {}
        wanted = {a["call_sid"] for a in attempts}
        found: dict[str, CallInfo] = {}
        if len(attempts) >= LIST_INSTEAD_OF_FETCH:
            since = min(a["started_at"] for a in attempts) - CLOCK_SKEW
            for c in self.twilio.list_calls(from_=self.campaign.assistant.phone_number, start_time_after=since):
                if c.sid in wanted:
                    found[c.sid] = c
            report.twilio_requests += 1 + len(found) // 1000
        for sid in wanted - found.keys():  # few: calls Twilio lists under another start time
            call = self.twilio.fetch_call(sid)
            report.twilio_requests += 1
            if call is None:  # Twilio never placed it (or forgot it): the attempt failed
                log.warning("Twilio has no call %s; its attempt counts as failed", sid)
                call = CallInfo(sid, None, None, "failed", None, None, None, None, None, None, None)
            found[sid] = call
        return found

    def _judge(self, attempt: dict, call: CallInfo | None, status: str, report: ReconcileReport) -> None:
        now = self.clock()
        ended_at = (call.end_time if call else None) or attempt["ended_at"] or now
        result = CallResult(status, answered_by=call.answered_by if call else attempt["answered_by"],
                            variables=attempt["variables"], ended_at=ended_at)
        progress = LeadProgress(attempt["round"], attempt["contact_index"], attempt["contact_count"])
        outcome = decide(self.campaign.retry, progress, result, now, goal=self.campaign.goal,
                         grace=self.variables_grace)
        if outcome.action is Action.WAIT:
            report.waiting_for_variables += 1
            return
        if call is None:
            # a status callback told us it ended; read Twilio's record once (price, duration)
            call = self.twilio.fetch_call(attempt["call_sid"])
            report.twilio_requests += 1
            if call is not None:
                self._record(attempt, call)
        if self.store.apply_outcome(attempt["id"], attempt["cycle"], outcome, now):
            report.judged += 1

    def _resolve_orphans(self, now: datetime, report: ReconcileReport) -> None:
        """Attempts a crash left without a SID: bind the call Twilio has, or, if Twilio has
        none, forget the attempt and make the lead due again. Never dial blindly."""
        with self.store.orphan_attempts(self.campaign_id, now - self.orphan_grace) as orphans:
            for orphan, attempt in orphans:
                sid = self._find_call(orphan["to_number"], orphan["from_number"], orphan["started_at"])
                report.twilio_requests += 1
                if sid is not None:
                    attempt.set_sid(sid)
                    report.orphans_bound += 1
                else:
                    attempt.drop_unplaced(now)
                    report.orphans_not_placed += 1
