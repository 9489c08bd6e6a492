"""Dialing: place the calls of claimed leads, exactly once each, inside the calling window,
paced at the account's calls-per-second and never over the campaign's calls in parallel.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import deque
from datetime import datetime
from typing import Callable

import requests
from twilio.base.exceptions import TwilioException

from outcall_provider.hooks.campaign import Written
from outcall_provider.hooks.rows import ClaimedLead
from outcall_provider.hooks.twilio import CallNotPlaced, CallOutcomeUnknown, TwilioAccountError
from outcall_provider.rules.outcome import CallOutcome, LeadProgress, decide_unreachable
from outcall_provider.rules.phone import mask_phone

log = logging.getLogger(__name__)

REFILL_CLAIM = 10                      # leads a refilling dialer claims at a time


@dataclasses.dataclass
class DialReport:
    placed: int = 0
    skipped_invalid: int = 0
    released: int = 0
    already_recorded: int = 0
    changed_by_person: int = 0
    unresolved: int = 0
    window_closed: bool = False
    idle: bool = False  # ended with lines free, no call in flight and no lead due before the deadline


class _NotPlaced(Exception):
    """Right before the create: the call must not be placed after all."""


class _WindowClosed(_NotPlaced):
    """The wait for a CPS slot ended past the calling window."""


class _LeadChanged(_NotPlaced):
    """A person changed the lead since its attempt was written."""



class Dialer:
    """The dialing half of CallEngine (engine/__init__.py), which sets its attributes."""

    def dial(self, leads: list[ClaimedLead], *, deadline: datetime | None = None, refill: bool = False,
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
                            # nothing to do this tick unless a person adds or resets a lead
                            report.idle = deadline is not None and not in_flight
                            break
                        self._wait_for_a_free_line()
                        continue
                lead = queue.popleft()
                if self._dial_one(lead, report) is Written.FULL:
                    queue.appendleft(lead)
                    self._wait_for_a_free_line()
        finally:
            leftover = [lead.id for lead in queue]
            self.store.release_leads(leftover, self.clock())
            report.released += len(leftover)
        return report

    def _lead_due_before(self, deadline: datetime) -> bool:
        next_due = self.store.next_due_at(self.campaign_id)
        return next_due is not None and next_due < deadline

    def _wait_for_a_free_line(self) -> None:
        self.sleep(self.poll_interval)
        self.reconcile(in_flight_only=True)

    def _dial_one(self, lead: ClaimedLead, report: DialReport) -> Written | None:
        """Write the attempt, then place its call once. Returns Written.FULL when the campaign
        has no free line (the lead goes back to the front of the queue)."""
        now = self.clock()
        if lead.invalid_reason or not lead.to_number:
            self._skip_invalid_contact(lead, lead.invalid_reason or "no number", now)
            report.skipped_invalid += 1
            return None
        from_number = self.campaign.assistant.phone_number
        recorded = self.store.record_attempt(self.campaign_id, lead, lead.to_number, from_number, now,
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
                    raise _WindowClosed
                if not attempt.lead_still_ours(lead.id, lead.cycle):
                    raise _LeadChanged

            try:
                sid = self._place(lead, from_number, before_each_try)
            except _NotPlaced as e:
                attempt.drop_unplaced(self.clock())
                if isinstance(e, _WindowClosed):
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
                log.warning("lead %s: %s; looking for the call, not dialing again", lead.id, e)
                sid = self._look_for_call(lead.to_number, from_number, now)
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
        log.info("lead %s: dialed %s (call %s)", lead.id, mask_phone(lead.to_number), sid)
        return None

    def _place(self, lead: ClaimedLead, from_number: str, before_each_try: Callable[[], None]) -> str:
        params = {"lead_id": lead.id, "campaign": self.campaign.name,
                  **{k: v for k, v in (lead.variables or {}).items()}}
        assistant = self.campaign.assistant
        return self.twilio.place_call(lead.to_number, from_number, voice_url=assistant.voice_url,
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

    def _attempt_refused(self, attempt_id: int, lead: ClaimedLead, error: CallNotPlaced) -> None:
        now = self.clock()
        reason = f"invalid number (Twilio {error.code})"
        has_dialable = self.store.mark_contact_invalid(lead.id, lead.contact_index, reason)
        outcome = self._judge_unreachable(lead, has_dialable, now)
        self.store.apply_outcome(attempt_id, lead.cycle, outcome, now)

    def _skip_invalid_contact(self, lead: ClaimedLead, reason: str, now: datetime) -> None:
        has_dialable = self.store.mark_contact_invalid(lead.id, lead.contact_index, reason)
        self.store.apply_lead_outcome(lead.id, lead.cycle, self._judge_unreachable(lead, has_dialable, now), now)

    def _judge_unreachable(self, lead: ClaimedLead, has_dialable: bool, now: datetime) -> CallOutcome:
        progress = LeadProgress(lead.round, lead.contact_index, lead.contact_count)
        return decide_unreachable(self.campaign.retry, progress, has_dialable, now)

    def _account_sid(self) -> str:
        self.twilio.get_conn()
        return self.twilio.account_sid

