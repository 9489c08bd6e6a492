"""Operators that wire the call engine to a campaign: dial a batch, reconcile calls."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from outcall_provider import clock
from outcall_provider.rules.states import CampaignStatus

# A tick's dialers stop this long before the next tick is due: the next tick then starts on
# time (one active run at a time) and its dialers take over the lines.
TICK_HANDOVER = timedelta(seconds=5)


def campaign_engine(campaign_name: str, **engine_kwargs):
    # Imported when a task runs, not when the DAG file is parsed (hooks pull in drivers).
    from outcall_provider.engine import campaign_engine as build

    return build(campaign_name, **engine_kwargs)


class DialLeadsOperator(BaseOperator):
    """Dial one batch of claimed leads (a descriptor {"campaign": name, "lead_ids": [...]}).

    With `tick_seconds`, the task then keeps the campaign's lines busy, claiming due leads as
    calls end, until shortly before the next tick. Pausing the DAG stops new calls at once;
    the task then waits out its tick, and if the DAG is unpaused meanwhile it dials again
    within seconds instead of at the next tick."""

    template_fields = ("batch",)

    def __init__(self, *, campaign_name: str, batch: dict | None = None, tick_seconds: float = 0, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name, self.batch, self.tick_seconds = campaign_name, batch, tick_seconds

    def execute(self, context) -> dict[str, Any]:
        engine = campaign_engine(self.campaign_name)
        total: dict[str, Any] = {}
        try:
            leads = engine.store.claimed_leads((self.batch or {}).get("lead_ids", []))
            deadline = None
            if self.tick_seconds:
                started = (context["dag_run"].start_date or clock.now()) if "dag_run" in context else clock.now()
                deadline = started + timedelta(seconds=self.tick_seconds) - TICK_HANDOVER
            paused = _pause_probe(context)
            while True:
                report = engine.dial(leads, deadline=deadline, refill=bool(self.tick_seconds),
                                     keep_going=lambda: not paused())
                leads = []  # the batch is dialed or released; refills claim from here on
                total = {k: total.get(k, 0) + v for k, v in vars(report).items()}
                if not (paused() and deadline) or not self._wait_while_paused(engine, paused, deadline):
                    break
        finally:
            engine.store.close()
        self.log.info("dialed %s", total)
        return total

    def _wait_while_paused(self, engine, paused, deadline) -> bool:
        """Wait while the DAG is paused, keeping calls in flight reconciled; True if it was
        unpaused before the deadline."""
        engine.store.set_campaign_status(engine.campaign_id, CampaignStatus.PAUSED.value, clock.now())
        self.log.info("the campaign's DAG is paused: no new calls; calls in flight are still reconciled")
        while paused() and clock.now() < deadline:
            engine.sleep(engine.poll_interval)
            engine.reconcile(in_flight_only=True)
        if paused():
            return False
        engine.store.set_campaign_status(engine.campaign_id, CampaignStatus.IN_PROGRESS.value, clock.now())
        self.log.info("the campaign's DAG is unpaused: dialing again")
        return True


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
