"""A tick of a campaign's dialer: keep its lines busy until the next tick's dialer takes over.

It dials while leads are due, waits while the DAG is paused (calls in flight still reconciled),
and waits while nothing is due until a lead falls due (added, uploaded or set back by a person,
or its callee's hours open). A tick's dialer goes on past its tick, while the next tick syncs,
until that tick's dialer starts (the store's `dialing_tick`): the lines never stand idle
between ticks. The same loop runs in Airflow's triggerer (triggers/dial.py:
one thread per dialer, no worker slot) or, for a dialer that is not deferrable, in its task.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable

from outcall_provider.rules.describe import outside_the_window
from outcall_provider.rules.states import CampaignStatus

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 5.0       # an idle dialer looks for a due lead this often (one index step)
TAKEOVER_CHECK_SECONDS = 5.0  # a dialer past its tick looks this often for the next tick's


def keep_dialing(engine, leads: list, tick_ends: datetime, *, dial_until: datetime | None = None,
                 paused: Callable[[], bool], stopped: Callable[[], bool] = lambda: False,
                 total: dict | None = None) -> dict[str, int]:
    """Dial `leads` (claimed), then refill from the due leads until the next tick's dialer
    takes over (its tick ends after `tick_ends`) or `dial_until` (default: `tick_ends`) comes;
    returns the dial reports summed into `total`. `paused` is the DAG's pause toggle;
    `stopped` ends the loop early (the trigger was cancelled). Leads claimed and not dialed
    are released."""
    total = dict(total or {})
    deadline = dial_until or tick_ends
    engine.store.take_over_dialing(engine.campaign_id, tick_ends)
    taken_over = _takeover_probe(engine, tick_ends)

    def done() -> bool:
        return stopped() or taken_over()

    while not done() and engine.clock() < deadline:
        if paused():
            _wait_while_paused(engine, paused, done, deadline)
            continue
        report = engine.dial(leads, deadline=deadline, refill=True, keep_going=lambda: not (paused() or done()))
        leads = []  # the batch is dialed or released; refills claim from here on
        add_report(total, report)
        if report.window_closed:
            log.info("nothing is dialed for the rest of this tick: %s",
                     outside_the_window(engine.campaign, engine.clock()))
            break
        if report.idle and not _wait_for_a_due_lead(engine, paused, done, deadline):
            break
    if taken_over():
        log.info("the next tick's dialer took over")
    return total


def _takeover_probe(engine, tick_ends: datetime) -> Callable[[], bool]:
    """Has a later tick's dialer started? Asked of the store at most every TAKEOVER_CHECK_SECONDS,
    and only once this tick is over."""
    state = {"at": 0.0, "taken": False}

    def taken_over() -> bool:
        due = time.monotonic() - state["at"] >= TAKEOVER_CHECK_SECONDS
        if not state["taken"] and due and engine.clock() >= tick_ends:
            state["at"] = time.monotonic()
            dialing = engine.store.dialing_tick(engine.campaign_id)
            state["taken"] = dialing is not None and dialing > tick_ends
        return state["taken"]

    return taken_over


def add_report(total: dict[str, int], report) -> dict[str, int]:
    """Sum a DialReport's counts into `total` (its flags say how one dial ended, not the tick)."""
    for key, value in vars(report).items():
        if not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
    return total


def _wait_for_a_due_lead(engine, paused, stopped, deadline: datetime) -> bool:
    """Nothing to dial and no call in flight: wait until a lead falls due (True), or the tick
    ends. Calls that ended are still judged meanwhile (their post-call variables may come a
    little later), and once every lead is terminal the campaign says `completed`."""
    log.info("nothing to dial until a lead falls due: waiting until %s", deadline.isoformat())
    said_completed = False
    while not stopped():
        now = engine.clock()
        if now >= deadline:
            return False
        engine.reconcile(in_flight_only=True, ask_twilio=False)
        said_completed = said_completed or engine.store.say_completed_if_done(engine.campaign_id, now)
        next_due = engine.store.next_due_at(engine.campaign_id, engine.gate.next_due_filter(now))
        if next_due is not None and next_due <= now and not paused():
            log.info("a lead fell due at %s: dialing again", next_due.isoformat())
            # a lead waits again: the campaign is not completed (any more)
            engine.store.set_campaign_status(engine.campaign_id, CampaignStatus.IN_PROGRESS.value, now)
            return True
        engine.sleep(min(IDLE_POLL_SECONDS, (deadline - now).total_seconds()))
    return False


def _wait_while_paused(engine, paused, stopped, deadline: datetime) -> None:
    """No new calls while the DAG is paused; calls in flight are still reconciled."""
    engine.store.set_campaign_status(engine.campaign_id, CampaignStatus.PAUSED.value, engine.clock())
    log.info("the campaign's DAG is paused: no new calls; calls in flight are still reconciled")
    while paused() and not stopped() and engine.clock() < deadline:
        engine.wait_for_a_free_line()
    if not paused() and not stopped():
        engine.store.set_campaign_status(engine.campaign_id, CampaignStatus.IN_PROGRESS.value, engine.clock())
        log.info("the campaign's DAG is unpaused: dialing again")
