"""The JSON API under /outcall/api/v1 (the page uses nothing else).

Reading a campaign needs GET on its DAG and changing it needs PUT, checked per route; the app
around this router already refuses anyone not logged into Airflow.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from typing import Annotated, Literal

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from outcall_provider import clock
from outcall_provider.api import airflow_access, views
from outcall_provider.api.store import store, thread_hook
from outcall_provider.hooks.campaign import LeadBusy
from outcall_provider.rules.leads import LeadFileError
from outcall_provider.rules.phone import mask_phone
from outcall_provider.rules.states import CALL_STATUSES, HAND_SET_LEAD_STATUSES, LEAD_STATUSES, CampaignStatus

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1")
Store = Annotated[object, Depends(store)]
MAX_UPLOAD_BYTES = int(os.environ.get("OUTCALL_MAX_UPLOAD_MB", "100")) * 1024 * 1024
REJECTS_SHOWN = 500
_FILENAME = re.compile(r"[^\w.\- ]")


def _campaign(hook, name: str, user, method: str = "GET") -> views.CampaignView:
    """The campaign, found in whichever store keeps it (`hook` is unused: kept for callers)."""
    view = views.campaign_by_name(thread_hook, name)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign {name!r}")
    airflow_access.authorize_dag(user, view.dag_id, method)
    return view


def _hook(view: views.CampaignView):
    """The campaign's own store; 503 naming it when it cannot be read."""
    if view.store_error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, view.store_error)
    return thread_hook(view.db_conn_id)


def _stored_id(hook, view: views.CampaignView) -> int:
    """The campaign's store id, adding it to the store (as a draft) on its first lead."""
    return view.store_id if view.store_id is not None else hook.upsert_campaign(view.campaign, clock.now())


@router.get("/vocabulary", summary="The statuses a lead, a call and a campaign can have, in display order")
def vocabulary(user: GetUserDep):
    return {"lead_statuses": list(LEAD_STATUSES), "call_statuses": list(CALL_STATUSES),
            "campaign_statuses": [s.value for s in CampaignStatus]}


# -- campaigns -------------------------------------------------------------------------------
@router.get("/campaigns", summary="Every campaign the user may read, with its progress")
def list_campaigns(user: GetUserDep):
    every = views.campaigns(thread_hook)
    readable = airflow_access.readable_dag_ids(user, [v.dag_id for v in every])
    shown = [v for v in every if v.dag_id in readable]
    states = airflow_access.dag_states([v.dag_id for v in shown])
    return {"campaigns": views.campaign_list(thread_hook, clock.now(), states, shown)}


@router.get("/campaigns/{name}", summary="One campaign's progress")
def get_campaign(name: str, user: GetUserDep):
    view = _campaign(None, name, user)
    return views.campaign_summary(_hook(view), view, clock.now(),
                                  airflow_access.dag_states([view.dag_id]).get(view.dag_id))


@router.get("/campaigns/{name}/stats", summary="Funnel, attempts by outcome, answer rate by hour")
def campaign_stats(name: str, user: GetUserDep):
    view = _campaign(None, name, user)
    return views.campaign_detail(_hook(view), view, clock.now(),
                                 airflow_access.dag_states([view.dag_id]).get(view.dag_id))


class RunningChange(BaseModel):
    running: bool


@router.put("/campaigns/{name}/running", summary="Start (unpause the DAG and run it now) or pause")
def set_running(name: str, change: RunningChange, user: GetUserDep):
    view = _campaign(None, name, user, "PUT")
    if change.running:  # starting triggers a run: the permission Airflow's trigger endpoint asks
        airflow_access.authorize_trigger(user, view.dag_id)
    hook = _hook(view)
    try:
        run_id = airflow_access.set_dag_running(view.dag_id, change.running, user)
    except LookupError:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"Airflow has not loaded DAG {view.dag_id} yet; check the DAG import errors") from None
    store_id = _stored_id(hook, view)
    if view.store_status != CampaignStatus.COMPLETED:
        hook.set_campaign_status(store_id, (CampaignStatus.IN_PROGRESS if change.running else CampaignStatus.PAUSED).value,
                                 clock.now())
    log.info("campaign %s %s by %s", name, "started" if change.running else "paused", user.get_name())
    return {"running": change.running, "run_id": run_id}


# -- leads -----------------------------------------------------------------------------------
@router.get("/campaigns/{name}/leads", summary="A page of leads, newest first (keyset paging)")
def list_leads(name: str, user: GetUserDep,
               lead_status: Annotated[Literal[LEAD_STATUSES] | None, Query(alias="status")] = None,
               q: Annotated[str | None, Query(max_length=100, description="exact phone, external_id or lead id")] = None,
               before: Annotated[int | None, Query(ge=1, description="next_before of the previous page")] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50):
    view = _campaign(None, name, user)
    return views.lead_page(_hook(view), view, status=lead_status, q=q, before=before, limit=limit)


class StatusChange(BaseModel):
    status: Literal[HAND_SET_LEAD_STATUSES]


@router.patch("/campaigns/{name}/leads/{lead_id}", summary="Call a lead again (created) or stop (completed)",
              description="`completed` always wins: a call in flight still ends, but no call is placed "
                          "after the change. `created` while a call is in flight answers 409 (it would "
                          "call the same person twice at once): set it again once the call has ended.",
              responses={409: {"description": "the lead has a call in flight"}})
def change_lead_status(name: str, lead_id: int, change: StatusChange, user: GetUserDep):
    view = _campaign(None, name, user, "PUT")
    hook = _hook(view)
    try:
        row = hook.page_set_lead_status(view.store_id, lead_id, change.status, clock.now()) if view.store_id else None
    except LeadBusy as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id} in campaign {name!r}")
    log.info("lead %s of %s set to %s by %s", lead_id, name, change.status, user.get_name())
    return row


class NewLead(BaseModel):
    phone_number: str = Field(max_length=50)
    secondary_phones: list[Annotated[str, Field(max_length=50)]] = Field(default=[], max_length=10)
    external_id: str | None = Field(default=None, max_length=200)
    variables: dict[str, Annotated[str, Field(max_length=2000)]] = Field(default={}, max_length=50)


def _report(hook, report) -> dict:
    return {"report_id": report.report_id, "imported": report.imported, "updated": report.updated,
            "rejected": report.rejected, "warnings": report.warnings, "error": report.error,
            "rejects": hook.import_rejects(report.report_id, REJECTS_SHOWN)}


@router.post("/campaigns/{name}/leads", status_code=201,
             summary="Add one lead by hand, validated exactly like a CSV row")
def add_lead(name: str, lead: NewLead, hook: Store, user: GetUserDep):
    view = _campaign(hook, name, user, "PUT")
    reserved = {"phone_number", "external_id"} | {f"secondary_phone_{i}" for i in range(1, 11)}
    if reserved & lead.variables.keys():
        raise HTTPException(422, f"variable names may not be {', '.join(sorted(reserved & lead.variables.keys()))}")
    header = ["phone_number", *[f"secondary_phone_{i + 1}" for i in range(len(lead.secondary_phones))],
              "external_id", *lead.variables]
    row = [lead.phone_number, *lead.secondary_phones, lead.external_id or "", *lead.variables.values()]
    region = view.campaign.leads.default_region if view.campaign.leads else None
    try:  # never an update: a lead with this phone or external_id is a conflict, not an overwrite
        report = hook.add_lead(_stored_id(hook, view), f"added by {user.get_name()}", header, row, region,
                               clock.now())
    except LeadFileError as e:  # e.g. a variable name that cannot be stored
        raise HTTPException(422, {"message": "the lead was not added", "error": str(e)}) from None
    result = _report(hook, report)
    if report.conflicts:
        [clash, *_] = report.conflicts
        raise HTTPException(status.HTTP_409_CONFLICT, {
            "message": f"the lead was not added: {clash['reason']} ({clash['field']} {clash['value']}); "
                       "nothing was changed", "conflicts": report.conflicts, **result})
    if report.rejected:
        raise HTTPException(422, {"message": "the lead was not added", **result})
    log.info("lead %s added to %s by %s", mask_phone(lead.phone_number), name, user.get_name())
    return result


@router.post("/campaigns/{name}/imports", status_code=201,
             summary="Import a lead CSV sent as the raw request body (text/csv)",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}},
                                            "required": True}})
async def upload_csv(name: str, request: Request, user: GetUserDep,
                     filename: Annotated[str, Query(max_length=200)] = "upload.csv"):
    # Async to stream the body to disk; the store work runs on pool threads with their own hook.
    view = await run_in_threadpool(lambda: _campaign(thread_hook(), name, user, "PUT"))
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB; "
                                 "import it with `outcall import-leads` instead")
    source = f"upload {_FILENAME.sub('_', filename)} by {user.get_name()}"
    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise HTTPException(413, f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
            f.write(chunk)
        f.flush()
        result = await run_in_threadpool(_import_file, view, f.name, source)
    log.info("%s: %s imported, %s updated, %s rejected", source, result["imported"], result["updated"],
             result["rejected"])
    return result


def _import_file(view: views.CampaignView, path: str, source: str) -> dict:
    hook = _hook(view)
    region = view.campaign.leads.default_region if view.campaign.leads else None
    try:  # one process: a web worker should not start a validation pool (the CLI does, for big files)
        report = hook.import_leads_csv(_stored_id(hook, view), path, region, clock.now(), workers=1,
                                       source=source)
    except LeadFileError as e:  # a file-level problem: the stored report says what and where
        raise HTTPException(422, {"message": "the file cannot be imported",
                                  **(_report(hook, e.report) if e.report else {}), "error": str(e)}) from None
    return _report(hook, report)


@router.get("/campaigns/{name}/imports/{report_id}", summary="An import's report and rejected rows")
def import_report(name: str, report_id: int, user: GetUserDep):
    view = _campaign(None, name, user)
    hook = _hook(view)
    report = hook.page_import_report(view.store_id, report_id) if view.store_id else None
    if report is None:
        raise HTTPException(404, f"no import {report_id} in campaign {name!r}")
    return {**report, "rejects": hook.import_rejects(report_id, REJECTS_SHOWN)}


# -- calls -----------------------------------------------------------------------------------
@router.get("/campaigns/{name}/calls", summary="Calls (attempts), newest first (keyset paging)")
def list_calls(name: str, user: GetUserDep,
               lead_id: Annotated[int | None, Query(ge=1)] = None,
               before: Annotated[int | None, Query(ge=1)] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50):
    view = _campaign(None, name, user)
    return views.calls_page(_hook(view), view, before=before, limit=limit, lead_id=lead_id)
