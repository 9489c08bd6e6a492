"""Operators that wire the call engine to a campaign: dial a batch, reconcile calls."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import BaseOperator

from outcall_provider import clock
from outcall_provider.exceptions import DialerFailed
from outcall_provider.triggers.dial import DIAL_FAILED, DialTrigger  # no driver imported at parse time


def campaign_engine(campaign_name: str, **engine_kwargs):
    # Imported when a task runs, not when the DAG file is parsed (hooks pull in drivers).
    from outcall_provider.engine import campaign_engine as build

    return build(campaign_name, **engine_kwargs)


DIAL_PAST_TICK = 2  # ticks a dialer may go on past its own while the next tick's is late


class DialLeadsOperator(BaseOperator):
    """Dial one batch of claimed leads (a descriptor {"campaign": name, "lead_ids": [...]}).

    With `tick_seconds`, the campaign's lines are then kept busy, claiming due leads as calls
    end, until the next tick's dialer takes over. The task places its batch's calls while lines are
    free, then defers: the dialer goes on in Airflow's triggerer (triggers/dial.py), holding no
    worker slot while it waits for calls to end, leads to fall due or the window to open.
    Pausing the DAG stops new calls within seconds; unpaused during the tick, it dials again
    within seconds. `deferrable=False` keeps the whole tick in the worker instead."""

    template_fields = ("batch",)

    def __init__(self, *, campaign_name: str, batch: dict | None = None, tick_seconds: float = 0,
                 deferrable: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name, self.batch, self.tick_seconds = campaign_name, batch, tick_seconds
        self.deferrable = deferrable

    def execute(self, context) -> dict[str, Any]:
        from outcall_provider.engine.keep_dialing import add_report, keep_dialing

        engine = campaign_engine(self.campaign_name)
        paused = _pause_probe(context)
        try:
            leads = engine.store.claimed_leads((self.batch or {}).get("lead_ids", []))
            deadline = self._deadline(context)
            if deadline is not None and not self.deferrable:
                total = keep_dialing(engine, leads, deadline, dial_until=self._dial_until(deadline), paused=paused)
                self.log.info("dialed %s", total)
                return total
            # the batch's first calls, from here, while lines are free (a run that started late
            # may find its tick over: its dialer still dials until the next tick's takes over)
            report = engine.dial(leads, deadline=deadline and self._dial_until(deadline),
                                 keep_going=lambda: not paused(), until_full=deadline is not None)
        finally:
            engine.store.close()
        total = add_report({}, report)
        if deadline is None:  # one batch, no tick
            self.log.info("dialed %s", total)
            return total
        self.log.info("placed %s calls; dialing goes on in the triggerer until %s", total.get("placed", 0),
                      deadline.isoformat())
        self.defer(trigger=DialTrigger(campaign_name=self.campaign_name, dag_id=self.dag_id,
                                       tick_ends=deadline.isoformat(),
                                       dial_until=self._dial_until(deadline).isoformat(), total=total),
                   method_name="dialed", timeout=timedelta(seconds=(DIAL_PAST_TICK + 2) * self.tick_seconds))

    def dialed(self, context, event: dict[str, Any]) -> dict[str, Any]:
        """Back from the triggerer at the end of the tick."""
        if event["reason"] == DIAL_FAILED:
            raise DialerFailed(f"campaign {self.campaign_name}: the dialer stopped: {event['error']}")
        self.log.info("dialed %s", event["total"])
        return event["total"]

    def _dial_until(self, tick_ends: datetime) -> datetime:
        """A tick's dialer goes on until the next tick's takes over; at most two ticks more (the
        next tick is late: a busy Airflow runs many campaigns' first steps before it; or the
        DAG was paused and no tick comes)."""
        return tick_ends + DIAL_PAST_TICK * timedelta(seconds=self.tick_seconds)

    def _deadline(self, context):
        """When this tick ends (the next one is due), on outcall's clock. The tick runs on Airflow's clock
        (the run's start), so the time it has left is carried over: the two differ in a replay
        (clock.py), and a deadline mixed from both would end dialing at once or never."""
        if not self.tick_seconds:
            return None
        dag_run = context.get("dag_run")
        started = getattr(dag_run, "start_date", None)
        used = datetime.now(timezone.utc) - started if started else timedelta(0)
        return clock.now() + timedelta(seconds=self.tick_seconds) - used


def _pause_probe(context, every_s: float = 2.0):
    """Is the campaign's DAG paused? Asked of the API server at most every `every_s`."""
    ti = context.get("ti")
    if ti is None or not hasattr(ti, "get_dag"):
        return lambda: False
    state = {"at": 0.0, "paused": False}

    def paused() -> bool:
        if time.monotonic() - state["at"] >= every_s:
            state["paused"] = bool(ti.get_dag(ti.dag_id).is_paused)
            state["at"] = time.monotonic()
        return state["paused"]

    return paused


class ReconcileCallsOperator(BaseOperator):
    """Bring every open attempt of a campaign up to date from Twilio and judge finished calls."""

    def __init__(self, *, campaign_name: str, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name = campaign_name

    def execute(self, context) -> dict[str, Any]:
        engine = campaign_engine(self.campaign_name)
        try:
            report = engine.reconcile()
        finally:
            engine.store.close()
        self.log.info("reconciled %s", report)
        return vars(report)
