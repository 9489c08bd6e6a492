"""Operators that wire the call engine to a campaign: keep its lines busy, reconcile its calls."""
from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.triggers.base import StartTriggerArgs

from outcall_provider.triggers.dial import (  # no driver imported at parse time
    DIAL_PAST_TICK,
    DialTrigger,
    tick_deadlines,
)


def campaign_engine(campaign_name: str, **engine_kwargs):
    # Imported when a task runs, not when the DAG file is parsed (hooks pull in drivers).
    from outcall_provider.engine import campaign_engine as build

    return build(campaign_name, **engine_kwargs)


LINES_PER_DIALER = 25  # a campaign gets a dialer for every 25 lines (max_calls_in_parallel)
RUN_STARTED = "{{ dag_run.start_date.isoformat() }}"


def dialers_for(max_calls_in_parallel: int) -> int:
    return max(1, math.ceil(max_calls_in_parallel / LINES_PER_DIALER))


class DialLeadsOperator(BaseOperator):
    """Keep a campaign's lines busy for a tick: claim due leads as lines free up and dial them,
    until the next tick's dialer takes over. Several dialers of one campaign share its lines.

    Deferrable (the default), the dialing goes on in Airflow's triggerer (triggers/dial.py),
    holding no worker slot while it waits for calls to end, leads to fall due or the window to
    open. With `start_from_trigger` it starts there too: no worker start before the tick's first
    call. Otherwise the task places calls while lines are free, then defers. Either way the
    trigger ends the task: no worker start at the end of the tick. Pausing the DAG stops new
    calls within seconds; unpaused during the tick, it dials again within seconds.
    `deferrable=False` keeps the whole tick in the worker instead. A tick that placed no call
    and ends outside the calling window is skipped."""

    template_fields = ("run_started",)

    def __init__(self, *, campaign_name: str, tick_seconds: float, dialer: int = 1, deferrable: bool = True,
                 start_from_trigger: bool = False, run_started: str = RUN_STARTED, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name, self.tick_seconds, self.dialer = campaign_name, tick_seconds, dialer
        self.deferrable, self.run_started = deferrable, run_started
        self.start_from_trigger = deferrable and start_from_trigger
        if self.start_from_trigger:
            # the triggerer renders run_started (a template field) in the run's context
            self.start_trigger_args = StartTriggerArgs(
                trigger_cls=f"{DialTrigger.__module__}.{DialTrigger.__qualname__}", next_method="dialed",
                trigger_kwargs=self._trigger(total={}).serialize()[1], timeout=self._timeout())

    def execute(self, context) -> dict[str, Any]:
        from outcall_provider.engine.keep_dialing import add_report, keep_dialing
        from outcall_provider.rules.describe import no_call_this_tick

        engine = campaign_engine(self.campaign_name)
        paused = _pause_probe(context)
        try:
            tick_ends, dial_until = tick_deadlines(self.tick_seconds, datetime.fromisoformat(self.run_started))
            if self.deferrable:
                # the first calls, from here, while lines are free (a run that started late may
                # find its tick over: its dialer still dials until the next tick's takes over)
                report = engine.dial([], deadline=dial_until, refill=True, keep_going=lambda: not paused(),
                                     until_full=True)
                total, tick_over = add_report({}, report), report.window_closed  # for all its time
            else:
                total, tick_over = keep_dialing(engine, [], tick_ends, dial_until=dial_until, paused=paused), True
        finally:
            engine.store.close()
        if not tick_over:
            self.log.info("placed %s calls; dialing goes on in the triggerer until %s", total.get("placed", 0),
                          tick_ends.isoformat())
            self.defer(trigger=self._trigger(total), method_name="dialed", timeout=self._timeout())
        self.log.info("dialed %s", total)
        if skipped := no_call_this_tick(engine.campaign, total.get("placed", 0), engine.clock()):
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(skipped)
        return total

    def dialed(self, context, event: dict[str, Any]) -> None:
        """The resume method `defer` must name. DialTrigger ends the task itself (success,
        skipped or failed) and never resumes it; an event that does come is not the dialer's."""
        raise RuntimeError(f"campaign {self.campaign_name}: the dial task resumed with an unexpected "
                           f"trigger event {event!r}; DialTrigger ends the task itself")

    def _trigger(self, total: dict[str, int]) -> DialTrigger:
        return DialTrigger(campaign_name=self.campaign_name, dag_id=self.dag_id, tick_seconds=self.tick_seconds,
                           run_started=self.run_started, total=total)

    def _timeout(self) -> timedelta:
        return timedelta(seconds=(DIAL_PAST_TICK + 2) * self.tick_seconds)


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
    """Bring every open attempt of a campaign up to date from Twilio and judge finished calls;
    then say the campaign's status: completed once every lead is terminal."""

    def __init__(self, *, campaign_name: str, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name = campaign_name

    def execute(self, context) -> dict[str, Any]:
        engine = campaign_engine(self.campaign_name)
        store = engine.store
        try:
            report = engine.reconcile()
            self.log.info("reconciled %s", report)
            store.say_completed_if_done(engine.campaign_id, engine.clock())
            status = store.get_campaign(self.campaign_name)["status"]
            stats = store.campaign_stats(engine.campaign_id)
        finally:
            store.close()
        self.log.info("campaign %s (%s): leads by status %s; %s reached the goal", self.campaign_name,
                      status, stats["leads_by_status"], stats["goal_met"])
        return {"reconciled": vars(report), "status": status, **stats["leads_by_status"]}
