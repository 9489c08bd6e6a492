"""A dialer's tick (engine/keep_dialing.py, the loop the triggerer runs): the pause toggle, a
lead a person resets while the dialer is idle, a stop, and the worker's first burst that stops
when the lines are full."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from outcall_provider.engine.keep_dialing import IDLE_POLL_SECONDS, TAKEOVER_CHECK_SECONDS, keep_dialing
from tests.operators.conftest import lead_row

HEADER = "phone_number,secondary_phone_1,external_id,first_name\n"
ANSWERED = [f"+1415555{n:04d}" for n in range(100, 400)]  # 0xxx: answered, goal met


def leads_csv(n: int) -> str:
    return HEADER + "".join(f"{ANSWERED[i]},,x{i},Ann\n" for i in range(n))


def campaign_status(hook, campaign_id: int) -> str:
    with hook.db.cursor() as cur:
        cur.execute("select status from outcall_campaigns where id = %s", (campaign_id,))
        (status,) = cur.fetchone()
    hook.db.commit()
    return status


class Tick:
    """keep_dialing in a thread, as the trigger runs it; `paused` and `stop` are the test's."""

    def __init__(self, engine, seconds: float, paused: bool = False, dial_until: float | None = None):
        self.paused, self.stop, self.total = paused, threading.Event(), None
        tick_ends = engine.clock() + timedelta(seconds=seconds)
        until = engine.clock() + timedelta(seconds=dial_until) if dial_until else None
        self.thread = threading.Thread(target=self._run, args=(engine, tick_ends, until), daemon=True)
        self.thread.start()

    def _run(self, engine, tick_ends, until):
        self.total = keep_dialing(engine, [], tick_ends, dial_until=until, paused=lambda: self.paused,
                                  stopped=self.stop.is_set)

    def wait(self, what, predicate, timeout: float):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return time.time()
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


def test_a_paused_dag_makes_no_call_and_unpaused_within_the_tick_it_dials_again(hook, make_engine, sandbox):
    engine = make_engine(leads_csv(6))
    tick = Tick(engine, seconds=60, paused=True)
    tick.wait("the campaign to say paused", lambda: campaign_status(hook, engine.campaign_id) == "paused", 10)
    time.sleep(1)
    assert sandbox.calls() == []
    tick.paused = False
    tick.wait("calls after unpausing", lambda: sandbox.calls(), 5)
    assert campaign_status(hook, engine.campaign_id) in ("in_progress", "completed")
    tick.wait("every lead to be called", lambda: len(sandbox.calls()) == 6, 30)
    tick.stop.set()
    tick.thread.join(10)
    assert not tick.thread.is_alive() and tick.total["placed"] == 6
    assert sorted(c["to"] for c in sandbox.calls()) == ANSWERED[:6]  # each once


def test_an_idle_dialer_calls_a_lead_a_person_resets_within_seconds(hook, make_engine, sandbox):
    engine = make_engine(leads_csv(1))
    tick = Tick(engine, seconds=60)
    tick.wait("the lead to be completed and the campaign with it",
              lambda: campaign_status(hook, engine.campaign_id) == "completed", 30)
    lead = lead_row(hook, "x0")
    assert lead["status"] == "completed" and len(sandbox.calls()) == 1
    reset_at = time.time()
    hook.set_lead_status(engine.campaign_id, lead["id"], "created", engine.clock())
    called_at = tick.wait("the reset lead to be called again", lambda: len(sandbox.calls()) == 2,
                          IDLE_POLL_SECONDS + 5)
    assert called_at - reset_at <= IDLE_POLL_SECONDS + 2
    tick.stop.set()
    tick.thread.join(10)
    assert not tick.thread.is_alive()


def test_a_stopped_dialer_releases_the_leads_it_claimed(hook, make_engine, sandbox):
    engine = make_engine(leads_csv(20))
    tick = Tick(engine, seconds=60)
    tick.wait("the first calls", lambda: sandbox.calls(), 10)
    tick.stop.set()
    tick.thread.join(10)
    assert not tick.thread.is_alive()
    with hook.db.cursor() as cur:
        cur.execute("select count(*) from outcall_leads where campaign_id = %s and status = 'processing' "
                    "and id not in (select lead_id from outcall_attempts where judged_at is null)",
                    (engine.campaign_id,))
        (claimed_not_dialed,) = cur.fetchone()
    hook.db.commit()
    assert claimed_not_dialed == 0


def test_the_workers_first_burst_stops_when_the_lines_are_full(hook, make_engine, sandbox):
    engine = make_engine(leads_csv(10))
    leads = engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 10)
    started = time.time()
    report = engine.dial(leads, deadline=engine.clock() + timedelta(seconds=60), until_full=True)
    assert time.time() - started < 10  # it did not wait for a line
    assert report.placed == engine.campaign.max_calls_in_parallel == 3
    assert report.released == 7
    assert len(sandbox.calls()) == 3




def test_a_ticks_dialer_dials_on_past_its_tick_until_the_next_ticks_dialer_takes_over(hook, make_engine, sandbox):
    from outcall_provider.engine import CallEngine
    from outcall_provider.hooks.campaign import CampaignHook
    from outcall_provider.hooks.twilio import TwilioHook

    engine = make_engine(leads_csv(150))  # more than a dialer calls in 3 s
    first = Tick(engine, seconds=1, dial_until=60)  # its tick ends in 1 s; the next tick is late
    time.sleep(3)
    calls_past_its_tick = len(sandbox.calls())
    first.wait("calls after the first tick ended", lambda: len(sandbox.calls()) > calls_past_its_tick, 10)
    assert first.thread.is_alive()

    store = CampaignHook()  # the next tick's dialer: another process, its own connection
    try:
        second = Tick(CallEngine(store, TwilioHook(), engine.campaign, engine.campaign_id, clock=engine.clock,
                                 poll_interval=0.05), seconds=60)
        first.wait("the first dialer to hand over", lambda: not first.thread.is_alive(), TAKEOVER_CHECK_SECONDS + 5)
        assert first.total["placed"] > calls_past_its_tick - 3
        second.wait("every lead to be called", lambda: len(sandbox.calls()) == 150, 60)
        second.stop.set()
        second.thread.join(10)
    finally:
        store.close()
    assert sorted(c["to"] for c in sandbox.calls()) == sorted(ANSWERED[:150])  # each once, by two dialers
