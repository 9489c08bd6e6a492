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

import requests
from twilio.base.exceptions import TwilioException

from outcall_provider import clock as default_clock
from outcall_provider.hooks.campaign import Written
from outcall_provider.hooks.twilio import CallInfo, CallNotPlaced, CallOutcomeUnknown, TwilioAccountError
from outcall_provider.rules.campaign import Campaign
from outcall_provider.rules.outcome import (
    TERMINAL_CALL_STATUSES,
    Action,
    CallOutcome,
    CallResult,
    LeadProgress,
    decide,
)
from outcall_provider.rules.phone import mask_phone, mask_phones_in_text

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=5)      # our clock vs Twilio's, when matching calls by time
LIST_INSTEAD_OF_FETCH = 20             # from this many open calls, one list beats many fetches
# A SID-less attempt whose call Twilio does not list may still be on its way (a create request
# that hung, a long CPS queue, a list that lags): only after this long is it taken as never
# placed and its lead made due again.
ORPHAN_GRACE = timedelta(minutes=10)
STALE_CLAIM = timedelta(minutes=20)    # a claim nobody dialed for this long was left by a crash
REFILL_CLAIM = 10                      # leads a refilling dialer claims at a time
PRICE_CHECKS = 5                       # Twilio fills in `price` a while after the call ends:
PRICE_RECHECK = timedelta(minutes=1)   # look again this often, this many times


@dataclasses.dataclass
class DialReport:
    placed: int = 0
    skipped_invalid: int = 0
    released: int = 0
    already_recorded: int = 0
    changed_by_person: int = 0
    unresolved: int = 0
    window_closed: bool = False


@dataclasses.dataclass
class ReconcileReport:
    updated: int = 0
    judged: int = 0
    waiting_for_variables: int = 0
    orphans_bound: int = 0
    orphans_not_placed: int = 0
    orphans_waiting: int = 0
    stale_claims_released: int = 0
    prices_filled: int = 0
    not_judged_errors: int = 0
    twilio_requests: int = 0


class _NotPlaced(Exception):
    """Right before the create: the call must not be placed after all (why in `args[0]`)."""


class CallEngine:
    """Dials and reconciles one campaign."""

    def __init__(self, store, twilio, campaign: Campaign, campaign_id: int, *,
                 clock: Callable[[], datetime] = default_clock.now, sleep: Callable[[float], None] = time.sleep,
                 poll_interval: float = 1.0, variables_grace: timedelta = timedelta(minutes=5),
                 orphan_grace: timedelta = ORPHAN_GRACE, price_recheck: timedelta = PRICE_RECHECK):
        self.store, self.twilio, self.campaign, self.campaign_id = store, twilio, campaign, campaign_id
        self.clock, self.sleep, self.poll_interval = clock, sleep, poll_interval
        self.variables_grace, self.orphan_grace, self.price_recheck = variables_grace, orphan_grace, price_recheck
        self.window = campaign.window()

    # -- dialing -------------------------------------------------------------------------
    def dial(self, leads: list[dict], *, deadline: datetime | None = None, refill: bool = False,
             keep_going: Callable[[], bool] = lambda: True) -> DialReport:
        """Dial claimed leads, never more than max_calls_in_parallel at once and only inside
        the calling window (checked right before each call). With `refill`, keep claiming due
        leads as calls end until `deadline`, so the lines stay busy. `keep_going` is asked
        before each call (a paused DAG stops new calls). Leads not dialed are released.
        Raises TwilioAccountError, after releasing its leads, when Twilio refuses a call for
        a reason of the account or the campaign: every other call would fail the same way."""
        report = DialReport()
        queue = deque(leads)
        try:
            self.twilio.warm_up()
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
                if self._dial_one(lead, report) is Written.FULL:
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

    def _dial_one(self, lead: dict, report: DialReport) -> Written | None:
        """Write the attempt, then place its call once. Returns Written.FULL when the campaign
        has no free line (the lead goes back to the front of the queue)."""
        now = self.clock()
        if lead.get("invalid_reason") or not lead.get("to_number"):
            self._skip_invalid_contact(lead, lead.get("invalid_reason") or "no number", now)
            report.skipped_invalid += 1
            return None
        from_number = self.campaign.assistant.phone_number
        recorded = self.store.record_attempt(self.campaign_id, lead, lead["to_number"], from_number, now,
                                             max_in_flight=self.campaign.max_calls_in_parallel)
        if recorded.written is Written.EXISTING:
            # This exact attempt was written before (a retried task): reconciliation resolves
            # it from Twilio's own records. Dialing again could call the person twice.
            report.already_recorded += 1
        elif recorded.written is Written.LEAD_CHANGED:
            report.changed_by_person += 1  # a person's change since the claim wins
        if recorded.written is not Written.NEW:
            return recorded.written
        account_error: TwilioAccountError | None = None
        refused: CallNotPlaced | None = None
        with self.store.attempt_locked(recorded.attempt_id) as attempt:
            def before_each_try() -> None:  # each try of the create, 429 retries included
                self.store.pace(self._account_sid(), self.twilio.calls_per_second, self.clock, self.sleep)
                if not self.window.is_open(self.clock()):  # the wait for a CPS slot may end past the window
                    raise _NotPlaced("window")
                if not attempt.lead_still_ours(lead["id"], lead["cycle"]):
                    raise _NotPlaced("changed")

            try:
                sid = self._place(lead, from_number, before_each_try)
            except _NotPlaced as e:
                attempt.drop_unplaced(self.clock())
                if e.args[0] == "window":
                    report.window_closed = True
                else:
                    report.changed_by_person += 1
                return None
            except TwilioAccountError as e:
                attempt.drop_unplaced(self.clock())
                account_error = e
            except CallNotPlaced as e:
                attempt.set_failed(f"Twilio {e.code}: {e.message}")
                refused = e
            except CallOutcomeUnknown as e:
                # The call may exist. Look once; never create again for this attempt: if it is
                # not listed yet, reconciliation keeps looking (ORPHAN_GRACE).
                log.warning("lead %s: %s; looking for the call, not dialing again", lead["id"], e)
                sid = self._look_for_call(lead["to_number"], from_number, now)
                if sid is None:
                    attempt.set_error(f"Twilio did not answer the create request ({e}); call not found yet")
                    report.unresolved += 1
                    return None
                attempt.set_sid(sid)
            else:
                attempt.set_sid(sid)
        if account_error is not None:
            log.error("campaign %s: %s", self.campaign.name, account_error)
            raise account_error
        if refused is not None:
            self._attempt_refused(recorded.attempt_id, lead, refused)
            report.skipped_invalid += 1
            return None
        report.placed += 1
        log.info("lead %s: dialed %s (call %s)", lead["id"], mask_phone(lead["to_number"]), sid)
        return None

    def _place(self, lead: dict, from_number: str, before_each_try: Callable[[], None]) -> str:
        params = {"lead_id": lead["id"], "campaign": self.campaign.name,
                  **{k: v for k, v in (lead.get("variables") or {}).items()}}
        assistant = self.campaign.assistant
        return self.twilio.place_call(lead["to_number"], from_number, voice_url=assistant.voice_url,
                                      stream_url=assistant.stream_url, parameters=params,
                                      before_each_try=before_each_try, store_conn_id=self.campaign.db_conn_id)

    def _look_for_call(self, to: str, from_: str, since: datetime) -> str | None:
        """_find_call right after a lost answer; if Twilio cannot be asked either, reconciliation
        looks later."""
        try:
            return self._find_call(to, from_, since)
        except (TwilioException, requests.exceptions.RequestException) as e:
            log.warning("could not list the calls to %s yet (%s); reconciliation will look", mask_phone(to), e)
            return None

    def _find_call(self, to: str, from_: str, since: datetime) -> str | None:
        """The call Twilio placed for an attempt written at `since`, if any: calls create has
        no idempotency key. Listed newest first and matched on date_created in our code (a
        call still queued has no start_time, so a StartTime filter would miss it); the oldest
        call created since that no attempt has bound is this attempt's."""
        calls = [c for c in self.twilio.calls_created_since(to, from_, since - CLOCK_SKEW) if c.date_created]
        known = self.store.known_sids([c.sid for c in calls]) if calls else set()
        fresh = [c for c in calls if c.sid not in known]
        return min(fresh, key=lambda c: (c.date_created, c.sid)).sid if fresh else None

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
            self._fill_in_prices(now, report)
        open_attempts = self.store.open_attempts(self.campaign_id)
        calls = self._calls_for([a for a in open_attempts if a["call_status"] not in TERMINAL_CALL_STATUSES],
                                report)
        for attempt in open_attempts:
            try:
                self._bring_up_to_date(attempt, calls.get(attempt["call_sid"]), report)
            except Exception as e:  # one attempt that cannot be judged must not stop the others
                self.store.db.rollback()
                report.not_judged_errors += 1
                log.error("attempt %s (call %s) could not be judged and is skipped: %s: %s",
                          attempt["id"], attempt["call_sid"], type(e).__name__, mask_phones_in_text(str(e)))
        return report

    def _bring_up_to_date(self, attempt: dict, call: CallInfo | None, report: ReconcileReport) -> None:
        unread_end = attempt["call_status"] in TERMINAL_CALL_STATUSES and attempt["record_read_at"] is None
        if call is None and unread_end:
            # A status callback said the call ended. Judge on Twilio's own record, read once: a
            # callback may lack AnsweredBy, and a voicemail must not pass for a person.
            call = self._fetch(attempt["call_sid"], report)
        if call is not None and (call.status != attempt["call_status"] or unread_end):
            self._record(attempt, call)
            report.updated += 1
        status = call.status if call is not None else attempt["call_status"]
        if status in TERMINAL_CALL_STATUSES:
            self._judge(attempt, call, status, report)

    def _record(self, attempt: dict, call: CallInfo) -> None:
        final = call.status in TERMINAL_CALL_STATUSES
        self.store.update_attempt_call(
            attempt["id"], call.status, answered_by=call.answered_by, duration_s=call.duration_s,
            price=call.price, price_unit=call.price_unit, ended_at=call.end_time if final else None,
            read_at=self.clock() if final else None)

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
        for sid in wanted - found.keys():  # few: calls still queued (no start_time yet) and the like
            found[sid] = self._fetch(sid, report)
        return found

    def _fetch(self, sid: str, report: ReconcileReport) -> CallInfo:
        call = self.twilio.fetch_call(sid)
        report.twilio_requests += 1
        if call is None:  # Twilio never placed it (or forgot it): the attempt failed
            log.warning("Twilio has no call %s; its attempt counts as failed", sid)
            call = CallInfo(sid, None, None, "failed", None, None, None, None, None, None, None)
        return call

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
        if self.store.apply_outcome(attempt["id"], attempt["cycle"], outcome, now,
                                    variables_seen=(attempt["variables_received_at"],)):
            report.judged += 1

    def _fill_in_prices(self, now: datetime, report: ReconcileReport) -> None:
        """Twilio fills in a call's price a while after it ends: judged calls without one are
        read again, a few times (PRICE_CHECKS), so the campaign's cost adds up to Twilio's."""
        pending = self.store.price_pending(self.campaign_id, now - self.price_recheck, PRICE_CHECKS)
        calls = self._calls_for(pending, report)
        for attempt in pending:
            call = calls[attempt["call_sid"]]
            self.store.price_checked(attempt["id"], call.price, call.price_unit, now)
            report.prices_filled += call.price is not None

    def _resolve_orphans(self, now: datetime, report: ReconcileReport) -> None:
        """Attempts left without a SID (a crash, or a create whose answer was lost): bind the
        call Twilio has; only after ORPHAN_GRACE with no call listed, forget the attempt and
        make the lead due again. Never dial blindly."""
        with self.store.orphan_attempts(self.campaign_id, now) as orphans:
            for orphan, attempt in orphans:
                sid = self._find_call(orphan["to_number"], orphan["from_number"], orphan["started_at"])
                report.twilio_requests += 1
                if sid is not None:
                    attempt.set_sid(sid)
                    report.orphans_bound += 1
                elif orphan["started_at"] <= now - self.orphan_grace:
                    attempt.drop_unplaced(now)
                    report.orphans_not_placed += 1
                else:
                    report.orphans_waiting += 1
