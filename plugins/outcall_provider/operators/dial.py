"""Operators that wire the call engine to a campaign: dial a batch, reconcile calls."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import BaseOperator

from outcall_provider import clock
from outcall_provider.rules.states import CampaignStatus
from outcall_provider.triggers.due_lead import TICK_ENDS, LeadDueTrigger  # no driver imported at parse time

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
    calls end, until shortly before the next tick. When it has nothing left to do (no call in
    flight, no lead due before then) it waits in Airflow's triggerer, not in a worker slot, and
    dials again within seconds of a person adding or resetting a lead. Pausing the DAG stops
    new calls at once; the task then waits out its tick, and if the DAG is unpaused meanwhile it
    dials again within seconds instead of at the next tick."""

    template_fields = ("batch",)

    def __init__(self, *, campaign_name: str, batch: dict | None = None, tick_seconds: float = 0, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name, self.batch, self.tick_seconds = campaign_name, batch, tick_seconds

    def execute(self, context) -> dict[str, Any]:
        return self._dial(context, (self.batch or {}).get("lead_ids", []), {})

    def resume_dialing(self, context, event: dict[str, Any], total: dict[str, Any]) -> dict[str, Any]:
        """Back from the triggerer: a lead fell due (dial it), or the tick is ending."""
        if event["reason"] == TICK_ENDS:
            self.log.info("dialed %s; the tick ends", total)
            return total
        self.log.info("a lead fell due at %s: dialing again", event.get("due_at"))
        return self._dial(context, [], total, reopened=True)

    def _dial(self, context, lead_ids: list[int], total: dict[str, Any], reopened: bool = False) -> dict[str, Any]:
        engine = campaign_engine(self.campaign_name)
        try:
            if reopened:  # a lead waits again: the campaign is not completed (any more)
                engine.store.set_campaign_status(engine.campaign_id, CampaignStatus.IN_PROGRESS.value, clock.now())
            leads = engine.store.claimed_leads(lead_ids)
            deadline = self._deadline(context)
            paused = _pause_probe(context)
            while True:
                report = engine.dial(leads, deadline=deadline, refill=bool(self.tick_seconds),
                                     keep_going=lambda: not paused())
                leads = []  # the batch is dialed or released; refills claim from here on
                total = {k: total.get(k, 0) + v for k, v in vars(report).items()}
                if not (paused() and deadline) or not self._wait_while_paused(engine, paused, deadline):
                    break
            if report.idle and not paused():
                self._note_completion(engine)
                self.log.info("dialed %s; nothing to dial until a lead falls due: waiting in the triggerer "
                              "until %s", total, deadline.isoformat())
                gate = engine.gate.next_due_filter(clock.now())
                gate["opens_at"] = [t.isoformat() for t in gate["opens_at"]]
                self.defer(trigger=LeadDueTrigger(db_conn_id=engine.campaign.db_conn_id,
                                                  campaign_id=engine.campaign_id, deadline=deadline.isoformat(),
                                                  gate=gate),
                           method_name="resume_dialing", kwargs={"total": total})
        finally:
            engine.store.close()
        self.log.info("dialed %s", total)
        return total

    def _deadline(self, context):
        """When this tick's dialing ends, on outcall's clock. The tick runs on Airflow's clock
        (the run's start), so the time it has left is carried over: the two differ in a replay
        (clock.py), and a deadline mixed from both would end dialing at once or never."""
        if not self.tick_seconds:
            return None
        dag_run = context.get("dag_run")
        started = getattr(dag_run, "start_date", None)
        used = datetime.now(timezone.utc) - started if started else timedelta(0)
        return clock.now() + timedelta(seconds=self.tick_seconds) - TICK_HANDOVER - used

    @staticmethod
    def _note_completion(engine) -> None:
        """Say `completed` now, not at the end of the tick, if every lead is terminal."""
        if engine.store.campaign_completed(engine.campaign_id):
            engine.store.set_campaign_status(engine.campaign_id, CampaignStatus.COMPLETED.value, clock.now())

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
