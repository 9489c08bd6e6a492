"""Reconciliation: bring every open attempt up to date from Twilio and judge finished calls.

Twilio's records are the truth; status callbacks only make this quicker. Also resolves
attempts left without a call SID (a crash, a lost create answer) from Twilio's own records,
and fills in prices Twilio reports late.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

from outcall_provider.hooks.rows import OpenAttempt, PricePending
from outcall_provider.hooks.twilio import CallInfo
from outcall_provider.rules.outcome import Action, CallResult, LeadProgress, decide
from outcall_provider.rules.phone import mask_phones_in_text
from outcall_provider.rules.states import TERMINAL_CALL_STATUSES, CallStatus

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=5)      # our clock vs Twilio's, when matching calls by time
LIST_INSTEAD_OF_FETCH = 20             # from this many open calls, one list beats many fetches
# A SID-less attempt whose call Twilio does not list may still be on its way (a create request
# that hung, a long CPS queue, a list that lags): only after this long is it taken as never
# placed and its lead made due again.
ORPHAN_GRACE = timedelta(minutes=10)
STALE_CLAIM = timedelta(minutes=20)    # a claim nobody dialed for this long was left by a crash
PRICE_CHECKS = 5                       # Twilio fills in `price` a while after the call ends:
PRICE_RECHECK = timedelta(minutes=1)   # look again this often, this many times


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
    transcripts_adopted: int = 0
    not_judged_errors: int = 0
    twilio_requests: int = 0



class Reconciler:
    """The reconciling half of CallEngine (engine/__init__.py), which sets its attributes."""

    def reconcile(self, *, in_flight_only: bool = False, ask_twilio: bool = True) -> ReconcileReport:
        """Bring every open attempt up to date from Twilio and judge the finished ones.
        Twilio's records are the truth; status callbacks only make this quicker.
        `in_flight_only` (a dialer between calls) skips the crash recovery work. Without
        `ask_twilio` (a dialer a callback just woke), calls still live in the store are not
        asked about; those a callback ended are still read from Twilio once and judged."""
        report = ReconcileReport()
        now = self.clock()
        if not in_flight_only:
            self._resolve_orphans(now, report)
            report.stale_claims_released = self.store.release_stale_claims(
                self.campaign_id, now - STALE_CLAIM, now)
            self._fill_in_prices(now, report)
            report.transcripts_adopted = self.store.adopt_early_transcripts(self.campaign_id)
        open_attempts = self.store.open_attempts(self.campaign_id)
        live = [a for a in open_attempts if a.call_status not in TERMINAL_CALL_STATUSES]
        calls = self._calls_for(live, report) if ask_twilio else {}
        for attempt in open_attempts:
            try:
                self._bring_up_to_date(attempt, calls.get(attempt.call_sid), report)
            except Exception as e:  # one attempt that cannot be judged must not stop the others
                self.store.db.rollback()
                report.not_judged_errors += 1
                log.error("attempt %s (call %s) could not be judged and is skipped: %s: %s",
                          attempt.id, attempt.call_sid, type(e).__name__, mask_phones_in_text(str(e)))
        return report

    def _bring_up_to_date(self, attempt: OpenAttempt, call: CallInfo | None, report: ReconcileReport) -> None:
        unread_end = attempt.call_status in TERMINAL_CALL_STATUSES and attempt.record_read_at is None
        if call is None and unread_end:
            # A status callback said the call ended. Judge on Twilio's own record, read once: a
            # callback may lack AnsweredBy, and a voicemail must not pass for a person.
            call = self._fetch(attempt.call_sid, report)
        if call is not None and (call.status != attempt.call_status or unread_end):
            self._record(attempt, call)
            report.updated += 1
        status = call.status if call is not None else attempt.call_status
        if status in TERMINAL_CALL_STATUSES:
            self._judge(attempt, call, status, report)

    def _record(self, attempt: OpenAttempt, call: CallInfo) -> None:
        final = call.status in TERMINAL_CALL_STATUSES
        self.store.update_attempt_call(
            attempt.id, call.status, answered_by=call.answered_by, duration_s=call.duration_s,
            price=call.price, price_unit=call.price_unit, ended_at=call.end_time if final else None,
            read_at=self.clock() if final else None)

    def _calls_for(self, attempts: list[OpenAttempt] | list[PricePending],
                   report: ReconcileReport) -> dict[str, CallInfo]:
        """Twilio's record of each attempt's call: one list when many are open."""
        if not attempts:
            return {}
        wanted = {a.call_sid for a in attempts}
        found: dict[str, CallInfo] = {}
        if len(attempts) >= LIST_INSTEAD_OF_FETCH:
            since = min(a.started_at for a in attempts) - CLOCK_SKEW
            for caller in self.campaign.assistant.phone_numbers:  # one list per caller ID of the pool
                for c in self.twilio.list_calls(from_=caller, start_time_after=since):
                    if c.sid in wanted:
                        found[c.sid] = c
                report.twilio_requests += 1
            report.twilio_requests += len(found) // 1000
        for sid in wanted - found.keys():  # few: calls still queued (no start_time yet) and the like
            found[sid] = self._fetch(sid, report)
        return found

    def _fetch(self, sid: str, report: ReconcileReport) -> CallInfo:
        call = self.twilio.fetch_call(sid)
        report.twilio_requests += 1
        if call is None:  # Twilio never placed it (or forgot it): the attempt failed
            log.warning("Twilio has no call %s; its attempt counts as failed", sid)
            call = CallInfo(sid=sid, to=None, from_=None, status=CallStatus.FAILED.value, answered_by=None,
                            duration_s=None, price=None, price_unit=None, start_time=None, end_time=None,
                            date_created=None)
        return call

    def _judge(self, attempt: OpenAttempt, call: CallInfo | None, status: str, report: ReconcileReport) -> None:
        now = self.clock()
        ended_at = (call.end_time if call else None) or attempt.ended_at or now
        result = CallResult(status, answered_by=call.answered_by if call else attempt.answered_by,
                            variables=attempt.variables, ended_at=ended_at)
        progress = LeadProgress(attempt.round, attempt.contact_index, attempt.contact_count)
        outcome = decide(self.campaign.retry, progress, result, now, grace=self.variables_grace,
                         opt_out_variable=self.campaign.compliance.opt_out_variable)
        if outcome.action is Action.WAIT:
            report.waiting_for_variables += 1
            return
        if self.store.apply_outcome(attempt.id, attempt.cycle, outcome, now,
                                    variables_seen_at=attempt.variables_received_at):
            report.judged += 1

    def _fill_in_prices(self, now: datetime, report: ReconcileReport) -> None:
        """Twilio fills in a call's price a while after it ends: judged calls without one are
        read again, a few times (PRICE_CHECKS), so the campaign's cost adds up to Twilio's."""
        pending = self.store.price_pending(self.campaign_id, now - self.price_recheck, PRICE_CHECKS)
        calls = self._calls_for(pending, report)
        for attempt in pending:
            call = calls[attempt.call_sid]
            self.store.price_checked(attempt.id, call.price, call.price_unit, now)
            report.prices_filled += call.price is not None

    def _resolve_orphans(self, now: datetime, report: ReconcileReport) -> None:
        """Attempts left without a SID (a crash, or a create whose answer was lost): bind the
        call Twilio has; only after ORPHAN_GRACE with no call listed, forget the attempt and
        make the lead due again. Never dial blindly."""
        with self.store.orphan_attempts(self.campaign_id, now) as orphans:
            for orphan, attempt in orphans:
                sid = self._find_call(orphan.to_number, orphan.from_number, orphan.started_at)
                report.twilio_requests += 1
                if sid is not None:
                    attempt.set_sid(sid)
                    report.orphans_bound += 1
                elif orphan.started_at <= now - self.orphan_grace:
                    attempt.drop_unplaced(now)
                    report.orphans_not_placed += 1
                else:
                    report.orphans_waiting += 1

    def _find_call(self, to: str, from_: str, since: datetime) -> str | None:
        """The call Twilio placed for an attempt written at `since`, if any: calls create has
        no idempotency key. Listed newest first and matched on date_created in our code (a
        call still queued has no start_time, so a StartTime filter would miss it); the oldest
        call created since that no attempt has bound is this attempt's."""
        calls = [c for c in self.twilio.calls_created_since(to, from_, since - CLOCK_SKEW) if c.date_created]
        known = self.store.known_sids([c.sid for c in calls]) if calls else set()
        fresh = [c for c in calls if c.sid not in known]
        return min(fresh, key=lambda c: (c.date_created, c.sid)).sid if fresh else None
