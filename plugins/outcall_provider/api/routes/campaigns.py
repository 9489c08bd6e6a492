"""Campaigns: the list, one campaign's progress and charts, start and pause."""
from __future__ import annotations

import logging

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, HTTPException, status

from outcall_provider import clock
from outcall_provider.api import airflow_access, views
from outcall_provider.api.datamodels import CampaignList, CampaignStats, CampaignSummary, RunningChange, RunningChanged
from outcall_provider.api.routes.common import PREFIX, campaign, campaign_hook, stored_id
from outcall_provider.api.store import thread_hook
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
