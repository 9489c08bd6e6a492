"""Dialing: place the calls of claimed leads, exactly once each, inside the calling window,
paced at the account's calls-per-second and never over the campaign's calls in parallel.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import Counter, deque
from datetime import datetime, timedelta
from typing import Callable

import requests
from twilio.base.exceptions import TwilioException

from outcall_provider.exceptions import DestinationsRefused
from outcall_provider.hooks.campaign import Written
from outcall_provider.hooks.rows import ClaimedLead
from outcall_provider.hooks.twilio import CallNotPlaced, CallOutcomeUnknown, TwilioAccountError
from outcall_provider.rules.outcome import CallOutcome, LeadProgress, decide_unreachable
from outcall_provider.rules.phone import mask_phone, mask_phones_in_text
from outcall_provider.rules.twilio_errors import (
    INVALID_NUMBER,
    is_destination_error,
    refusal_outcome,
    refusal_reason,
    refused_alike,
)
from outcall_provider.rules.twiml import call_parameters

log = logging.getLogger(__name__)

REFILL_CLAIM = 10                      # leads a refilling dialer claims at a time
DNC_REASON = "on a do-not-call list"   # why a suppressed contact is not dialed
# With status callbacks a dialer sleeps until one says a call ended (hooks/call_ends.py), but
# at most CALLBACK_WAIT, and asks Twilio itself only every TWILIO_LOOK: callbacks can be lost.
CALLBACK_WAIT = 2.0
TWILIO_LOOK = timedelta(seconds=20)


@dataclasses.dataclass
class DialReport:
    placed: int = 0
    skipped_invalid: int = 0
    skipped_destination: int = 0  # contacts whose destination Twilio refused (geo permissions, TwiML too long)
    released: int = 0
    already_recorded: int = 0
    changed_by_person: int = 0
    unresolved: int = 0
    suppressed: int = 0      # contacts skipped: on a do-not-call list
    held: int = 0            # not called right before the call: outside the callee's hours, or DNC since the claim
    capped: int = 0          # deferred: the number's frequency cap, or every caller ID at its daily cap
    window_closed: bool = False
    idle: bool = False  # ended with lines free, no call in flight and no lead due before the deadline


class _NotPlaced(Exception):
    """Right before the create: the call must not be placed after all."""


class _WindowClosed(_NotPlaced):
    """The wait for a CPS slot ended past the calling window."""


class _LeadChanged(_NotPlaced):
    """A person changed the lead since its attempt was written."""


class _Held(_NotPlaced):
    """A compliance check right before the call says no (the callee's hours, a DNC list)."""



class Dialer:
    """The dialing half of CallEngine (engine/__init__.py), which sets its attributes."""

    def dial(self, leads: list[ClaimedLead], *, deadline: datetime | None = None, refill: bool = False,
             keep_going: Callable[[], bool] = lambda: True, until_full: bool = False) -> DialReport:
        """Dial claimed leads, never more than max_calls_in_parallel at once and only inside
        the calling window (checked right before each call). With `refill`, keep claiming due
        leads as calls end until `deadline`, so the lines stay busy. With `until_full`, stop
        when no line is free or nothing is due, instead of waiting. `keep_going` is asked before each
        call (a paused DAG stops new calls). Leads not dialed are released.
        Raises TwilioAccountError, after releasing its leads, when Twilio refuses a call for
        a reason of the account or the campaign: every other call would fail the same way.
        A refused destination (21215, …) only skips its contact; DestinationsRefused (a
        TwilioAccountError) is raised when every call of this batch was refused alike."""
        report = DialReport()
        refusals: list[int | None] = []  # codes of the creates Twilio refused for their contact
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
                        if until_full:  # the triggerer waits for it
                            break
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
                        queue.extend(self.store.claim_due_leads(self.campaign_id, now, min(room, REFILL_CLAIM),
                                                                **self.gate.claim_filter(now)))
                    if not queue and until_full:  # no free line, or nothing due: the triggerer waits
                        break
                    if not queue:
                        # wait while a call may end, or a lead fall due, before the deadline
                        if deadline is None or not (in_flight or self._lead_due_before(deadline)):
                            # nothing to do this tick unless a person adds or resets a lead
                            report.idle = deadline is not None and not in_flight
                            break
                        self.wait_for_a_free_line()
                        continue
                lead = queue.popleft()
                if self._dial_one(lead, report, refusals) is Written.FULL:
                    queue.appendleft(lead)
                    if until_full:
                        break
                    self.wait_for_a_free_line()
        finally:
            leftover = [lead.id for lead in queue]
            self.store.release_leads(leftover, self.clock())
            report.released += len(leftover)
        code = refused_alike(report.placed + report.unresolved + len(refusals), refusals)
        if code is not None:
            error = DestinationsRefused(code, len(refusals))
            log.error("campaign %s: %s", self.campaign.name, error)
            raise error
        if refusals:
            log.warning("campaign %s: Twilio refused %d contact(s) of this batch (%s); they are skipped",
                        self.campaign.name, len(refusals),
                        ", ".join(f"{code}: {n}" for code, n in sorted(Counter(refusals).items(), key=str)))
        return report

    def _lead_due_before(self, deadline: datetime) -> bool:
        next_due = self.store.next_due_at(self.campaign_id, self.gate.next_due_filter(self.clock()))
        return next_due is not None and next_due < deadline

    def wait_for_a_free_line(self) -> None:
        """Without status callbacks, ask Twilio every poll_interval (as today); with them, wait
        to be woken by one and read the store, asking Twilio only every TWILIO_LOOK."""
        if self.call_ends is None:
            self.sleep(self.poll_interval)
            self.reconcile(in_flight_only=True)
            return
        self.call_ends.wait(self.campaign_id, CALLBACK_WAIT)
        now = self.clock()
        ask = self.twilio_asked_at is None or now - self.twilio_asked_at >= TWILIO_LOOK
        if ask:
            self.twilio_asked_at = now
        self.reconcile(in_flight_only=True, ask_twilio=ask)

    def _dial_one(self, lead: ClaimedLead, report: DialReport, refusals: list | None = None) -> Written | None:
        """Write the attempt, then place its call once. Returns Written.FULL when the campaign
        has no free line (the lead goes back to the front of the queue)."""
        now = self.clock()
        if lead.invalid_reason or not lead.to_number:
            self._skip_invalid_contact(lead, lead.invalid_reason or "no number", now)
            report.skipped_invalid += 1
            return None
        if lead.suppressed:  # checked by the claim: never dialed, by any campaign
            self._skip_invalid_contact(lead, DNC_REASON, now, outcome_reason="do_not_call")
            report.suppressed += 1
            return None
        caller = self.gate.caller(lead, now)
        if caller.number is None:
            self.store.defer_lead(lead.id, lead.cycle, self.gate.next_day_start(now), now)
            report.capped += 1
            return None
        from_number = caller.number
        audit = self._audit_at_record(lead, caller)
        recorded = self.store.record_attempt(self.campaign_id, lead, lead.to_number, from_number, now,
                                             max_in_flight=self.campaign.max_calls_in_parallel,
                                             caps=self.gate.number_caps(lead), audit=audit)
        if recorded.written is Written.CAPPED:  # waits until the oldest counted call ages out
            self.store.defer_lead(lead.id, lead.cycle, recorded.until, now)
            log.info("lead %s: %s had its calls (frequency cap); due again at %s", lead.id,
                     mask_phone(lead.to_number), recorded.until.isoformat())
            report.capped += 1
            return None
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
                at = self.clock()
                if not self.window.is_open(at):  # the wait for a CPS slot may end past the window
                    raise _WindowClosed
                hours = self.gate.hours(lead, at)
                if hours.hold is not None:
                    raise _Held(f"{hours.hold.value}: {hours.why}")
                if self.store.is_suppressed(lead.to_number):
                    raise _Held("dnc: the number was put on a do-not-call list since the claim")
                if not attempt.lead_still_ours(lead.id, lead.cycle):
                    raise _LeadChanged
                attempt.set_audit(self._audit_before_call(lead, at, hours))

            try:
                sid = self._place(lead, from_number, before_each_try)
            except _NotPlaced as e:
                attempt.drop_unplaced(self.clock())
                if isinstance(e, _WindowClosed):
                    report.window_closed = True
                elif isinstance(e, _Held):  # due again; the claim holds it back until allowed
                    log.info("lead %s: not called now (%s)", lead.id, mask_phones_in_text(str(e)))
                    report.held += 1
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
            if is_destination_error(refused.code):
                report.skipped_destination += 1
                log.info("lead %s: %s skipped (%s)", lead.id, mask_phone(lead.to_number), refusal_reason(refused.code))
            else:
                report.skipped_invalid += 1
            if refusals is not None:
                refusals.append(refused.code)
            return None
        report.placed += 1
        log.info("lead %s: dialed %s (call %s)", lead.id, mask_phone(lead.to_number), sid)
        return None

    def _place(self, lead: ClaimedLead, from_number: str, before_each_try: Callable[[], None]) -> str:
        assistant = self.campaign.assistant
        return self.twilio.place_call(lead.to_number, from_number, voice_url=assistant.voice_url,
                                      stream_url=assistant.stream_url,
                                      parameters=call_parameters(lead.id, self.campaign.name),
                                      variables=lead.variables or {},
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
        """A bad number is marked for good; a refused destination gets a mark of its own, which a
        re-import or a reset to created clears (rules/twilio_errors.py)."""
        now = self.clock()
        has_dialable = self.store.mark_contact_invalid(lead.id, lead.contact_index, refusal_reason(error.code))
        outcome = self._judge_unreachable(lead, has_dialable, now, refusal_outcome(error.code))
        self.store.apply_outcome(attempt_id, lead.cycle, outcome, now)

    def _skip_invalid_contact(self, lead: ClaimedLead, reason: str, now: datetime,
                              outcome_reason: str = INVALID_NUMBER) -> None:
        has_dialable = self.store.mark_contact_invalid(lead.id, lead.contact_index, reason)
        outcome = self._judge_unreachable(lead, has_dialable, now, outcome_reason)
        self.store.apply_lead_outcome(lead.id, lead.cycle, outcome, now)

    def _judge_unreachable(self, lead: ClaimedLead, has_dialable: bool, now: datetime,
                           reason: str = INVALID_NUMBER) -> CallOutcome:
        progress = LeadProgress(lead.round, lead.contact_index, lead.contact_count)
        return decide_unreachable(self.campaign.retry, progress, has_dialable, now, reason)

    def _audit_at_record(self, lead: ClaimedLead, caller) -> dict:
        """What is known when the attempt is written (the frequency count is added under its lock)."""
        c = self.campaign.compliance
        audit = {"caller_id": {"number": caller.number, "strategy": self.campaign.assistant.caller_id,
                               "why": caller.why},
                 "consent_at": lead.consent_at.isoformat() if lead.consent_at else None,
                 "consent_required": c.require_consent}
        if c.recipient_hours is None:
            audit["recipient_hours_off"] = c.reason
        return audit

    def _audit_before_call(self, lead: ClaimedLead, at: datetime, hours) -> dict:
        """What allowed the call right before it was placed."""
        clock = self.gate.clock(lead.callee_clock_id)
        c = self.campaign.compliance
        return {"checked_at": at.isoformat(),
                "campaign_window": f"{self.campaign.schedule.hours} {','.join(self.campaign.schedule.days)} "
                                   f"{self.campaign.assistant.timezone}",
                "recipient_hours": str(c.recipient_hours) if c.recipient_hours else None,
                "local_times": hours.local_times, "zones": list(clock.zones), "zone_source": clock.source,
                "states": list(clock.states),
                "state_rules": [self.gate.state_rules.summary(s) for s in clock.states],
                "dnc": {"suppressed": False, "list_version": self.store.dnc_version()}}

    def _account_sid(self) -> str:
        self.twilio.get_conn()
        return self.twilio.account_sid

