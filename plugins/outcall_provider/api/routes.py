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
from outcall_provider.hooks import lead_import
from outcall_provider.rules.leads import LeadFileError
from outcall_provider.rules.phone import mask_phone

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1")
Store = Annotated[object, Depends(store)]
MAX_UPLOAD_BYTES = int(os.environ.get("OUTCALL_MAX_UPLOAD_MB", "100")) * 1024 * 1024
REJECTS_SHOWN = 500
_FILENAME = re.compile(r"[^\w.\- ]")


def _campaign(hook, name: str, user, method: str = "GET") -> views.CampaignView:
    view = views.campaign_by_name(hook, name)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign {name!r}")
    airflow_access.authorize_dag(user, view.dag_id, method)
    return view


def _stored_id(hook, view: views.CampaignView) -> int:
    """The campaign's store id, adding it to the store (as a draft) on its first lead."""
    return view.store_id if view.store_id is not None else hook.upsert_campaign(view.campaign, clock.now())


# -- campaigns -------------------------------------------------------------------------------
@router.get("/campaigns", summary="Every campaign with its progress")
def list_campaigns(hook: Store, user: GetUserDep):
    views_ = views.campaigns(hook)
    states = airflow_access.dag_states([v.dag_id for v in views_])
    return {"campaigns": views.campaign_list(hook, clock.now(), states)}


@router.get("/campaigns/{name}", summary="One campaign's progress")
def get_campaign(name: str, hook: Store, user: GetUserDep):
    view = _campaign(hook, name, user)
    return views.campaign_summary(hook, view, clock.now(), airflow_access.dag_states([view.dag_id]).get(view.dag_id))


@router.get("/campaigns/{name}/stats", summary="Funnel, attempts by outcome, answer rate by hour")
def campaign_stats(name: str, hook: Store, user: GetUserDep):
    view = _campaign(hook, name, user)
    return views.campaign_detail(hook, view, clock.now(), airflow_access.dag_states([view.dag_id]).get(view.dag_id))


class RunningChange(BaseModel):
    running: bool


@router.put("/campaigns/{name}/running", summary="Start (unpause the DAG and run it now) or pause")
def set_running(name: str, change: RunningChange, hook: Store, user: GetUserDep):
    view = _campaign(hook, name, user, "PUT")
    try:
        run_id = airflow_access.set_dag_running(view.dag_id, change.running, user.get_name())
    except LookupError:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"Airflow has not loaded DAG {view.dag_id} yet; check the DAG import errors") from None
    store_id = _stored_id(hook, view)
    if view.store_status != "completed":
        hook.set_campaign_status(store_id, "in_progress" if change.running else "paused", clock.now())
    log.info("campaign %s %s by %s", name, "started" if change.running else "paused", user.get_name())
    return {"running": change.running, "run_id": run_id}


# -- leads -----------------------------------------------------------------------------------
@router.get("/campaigns/{name}/leads", summary="A page of leads, newest first (keyset paging)")
def list_leads(name: str, hook: Store, user: GetUserDep,
               lead_status: Annotated[Literal[views.LEAD_STATUSES] | None, Query(alias="status")] = None,
               q: Annotated[str | None, Query(max_length=100, description="exact phone, external_id or lead id")] = None,
               before: Annotated[int | None, Query(ge=1, description="next_before of the previous page")] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50):
    view = _campaign(hook, name, user)
    return views.lead_page(hook, view, status=lead_status, q=q, before=before, limit=limit)


class StatusChange(BaseModel):
    status: Literal["created", "completed"]


@router.patch("/campaigns/{name}/leads/{lead_id}", summary="Call a lead again (created) or stop (completed)")
def change_lead_status(name: str, lead_id: int, change: StatusChange, hook: Store, user: GetUserDep):
    view = _campaign(hook, name, user, "PUT")
    row = hook.page_set_lead_status(view.store_id, lead_id, change.status, clock.now()) if view.store_id else None
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
    report = hook.import_lead_records(_stored_id(hook, view), f"added by {user.get_name()}", header,
                                      [(2, row)], region, clock.now(), workers=1)
    result = _report(hook, report)
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
        try:
            result = await run_in_threadpool(_import_file, view, f.name, source)
        except LeadFileError as e:
            raise HTTPException(422, {"message": "the file cannot be imported",
                                      "error": str(e).replace(f.name, filename)}) from None
    log.info("%s: %s imported, %s updated, %s rejected", source, result["imported"], result["updated"],
             result["rejected"])
    return result


def _import_file(view: views.CampaignView, path: str, source: str) -> dict:
    hook = thread_hook()
    region = view.campaign.leads.default_region if view.campaign.leads else None
    header, records = lead_import.csv_records(path)
    # One process: a web worker should not start a validation pool (the CLI does, for big files).
    report = hook.import_lead_records(_stored_id(hook, view), source, header, records, region,
                                      clock.now(), workers=1)
    return _report(hook, report)


@router.get("/campaigns/{name}/imports/{report_id}", summary="An import's report and rejected rows")
def import_report(name: str, report_id: int, hook: Store, user: GetUserDep):
    view = _campaign(hook, name, user)
    report = hook.page_import_report(view.store_id, report_id) if view.store_id else None
    if report is None:
        raise HTTPException(404, f"no import {report_id} in campaign {name!r}")
    return {**report, "rejects": hook.import_rejects(report_id, REJECTS_SHOWN)}


# -- calls -----------------------------------------------------------------------------------
@router.get("/campaigns/{name}/calls", summary="Calls (attempts), newest first (keyset paging)")
def list_calls(name: str, hook: Store, user: GetUserDep,
               lead_id: Annotated[int | None, Query(ge=1)] = None,
               before: Annotated[int | None, Query(ge=1)] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50):
    view = _campaign(hook, name, user)
    return views.calls_page(hook, view, before=before, limit=limit, lead_id=lead_id)
