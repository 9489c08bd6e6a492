"""Campaigns: the list, one campaign's progress and charts, leads held back now, start and pause."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Annotated

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, HTTPException, Query, status

from outcall_provider import clock
from outcall_provider.api import airflow_access, views
from outcall_provider.api.datamodels import (
    CampaignList,
    CampaignStats,
    CampaignSummary,
    HeldCounts,
    RunningChange,
    RunningChanged,
)
from outcall_provider.api.routes.common import PREFIX, campaign, campaign_hook, stored_id
from outcall_provider.api.store import thread_hook
from outcall_provider.rules.campaign import CampaignFileError
from outcall_provider.rules.states import CampaignStatus

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, tags=["campaigns"])


@router.get("/campaigns", response_model=CampaignList, summary="Every campaign the user may read, with its progress")
def list_campaigns(user: GetUserDep):
    every = views.campaigns(thread_hook)
    readable = airflow_access.readable_dag_ids(user, [v.dag_id for v in every])
    shown = [v for v in every if v.dag_id in readable]
    states = airflow_access.dag_states([v.dag_id for v in shown])
    return {"campaigns": views.campaign_list(thread_hook, clock.now(), states, shown)}


@router.get("/campaigns/{name}", response_model=CampaignSummary, summary="One campaign's progress")
def get_campaign(name: str, user: GetUserDep):
    view = campaign(name, user)
    return views.campaign_summary(campaign_hook(view), view, clock.now(),
                                  airflow_access.dag_states([view.dag_id]).get(view.dag_id))


@router.get("/campaigns/{name}/stats", response_model=CampaignStats,
            summary="Funnel, attempts by outcome, answer rate by hour")
def campaign_stats(name: str, user: GetUserDep):
    view = campaign(name, user)
    return views.campaign_detail(campaign_hook(view), view, clock.now(),
                                 airflow_access.dag_states([view.dag_id]).get(view.dag_id))


class HeldCache:
    """Held-back counts of `now` per campaign, kept `ttl` seconds in this API server process:
    computing them reads every lead of the campaign, and the page asks every few seconds for
    every campaign it lists. One request computes a campaign's counts at a time; the others wait
    for its answer rather than read the same leads again."""

    def __init__(self, ttl: float = 30.0, monotonic=time.monotonic):
        self.ttl, self.monotonic = ttl, monotonic
        self._answers: dict[tuple, tuple[float, dict]] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple, compute) -> tuple[dict, bool]:
        """(answer, cached)"""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._answers.get(key)
            if hit is not None and self.monotonic() - hit[0] < self.ttl:
                return hit[1], True
            answer = compute()
            with self._guard:
                now = self.monotonic()
                self._answers = {k: v for k, v in self._answers.items() if now - v[0] < self.ttl}
                self._answers[key] = (now, answer)
            return answer, False


held_cache = HeldCache()


@router.get("/campaigns/{name}/held", response_model=HeldCounts,
            summary="Leads held back now per reason (callee hours, state rules, do-not-call, caps, …) and dialable",
            description="Each lead counts under each of its reasons (codes as `outcall preview --json`). The "
                        "counts of now are cached about 30 s per campaign (they read every lead); with `at`, "
                        "they are computed for that moment, uncached.",
            responses={409: {"description": "the campaign's rules cannot be read (its file, or its state rules file)"}})
def held_back(name: str, user: GetUserDep,
              at: Annotated[datetime | None, Query(description="judge this moment instead of now (ISO 8601; "
                                                               "without an offset it is UTC)")] = None):
    view = campaign(name, user)
    if view.campaign is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"campaign {name!r} has an invalid campaign file and no "
                            f"stored spec: {'; '.join(view.file_errors)}")
    hook = campaign_hook(view)

    def compute(moment: datetime) -> dict:
        try:
            return views.held_counts(hook, view, moment)
        except CampaignFileError as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None

    if at is not None:
        moment = at if at.tzinfo else clock.parse_time(at.isoformat())
        return {**compute(moment), "cached": False}
    answer, cached = held_cache.get((view.db_conn_id, view.name, view.store_id), lambda: compute(clock.now()))
    return {**answer, "cached": cached}


@router.put("/campaigns/{name}/running", response_model=RunningChanged,
            summary="Start (unpause the DAG and run it now) or pause",
            responses={409: {"description": "the DAG is not loaded, or the campaign file is invalid"}})
def set_running(name: str, change: RunningChange, user: GetUserDep):
    view = campaign(name, user, "PUT")
    if change.running:  # starting triggers a run: the permission Airflow's trigger endpoint asks
        airflow_access.authorize_trigger(user, view.dag_id)
    hook = campaign_hook(view)
    try:
        run_id = airflow_access.set_dag_running(view.dag_id, change.running, user)
    except LookupError:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"Airflow has not loaded DAG {view.dag_id} yet; check the DAG import errors") from None
    store_id = stored_id(hook, view)
    if view.store_status != CampaignStatus.COMPLETED:
        new_status = CampaignStatus.IN_PROGRESS if change.running else CampaignStatus.PAUSED
        hook.set_campaign_status(store_id, new_status.value, clock.now())
    log.info("campaign %s %s by %s", name, "started" if change.running else "paused", user.get_name())
    return {"running": change.running, "run_id": run_id}
