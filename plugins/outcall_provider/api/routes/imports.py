"""Imports: a lead CSV uploaded from the page, and a stored import's report."""
from __future__ import annotations

import logging
import os
import re
import tempfile
from typing import Annotated

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from outcall_provider import clock
from outcall_provider.api import views
from outcall_provider.api.datamodels import ImportReport, ImportResult
from outcall_provider.api.routes.common import PREFIX, REJECTS_SHOWN, campaign, campaign_hook, import_result, stored_id
from outcall_provider.rules.leads import LeadFileError

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, tags=["imports"])
MAX_UPLOAD_BYTES = int(os.environ.get("OUTCALL_MAX_UPLOAD_MB", "100")) * 1024 * 1024
_FILENAME = re.compile(r"[^\w.\- ]")


@router.post("/campaigns/{name}/imports", status_code=201, response_model=ImportResult,
             summary="Import a lead CSV sent as the raw request body (text/csv)",
             responses={413: {"description": "the file is larger than OUTCALL_MAX_UPLOAD_MB"},
                        422: {"description": "the file cannot be imported (detail: message, error and "
                                             "the stored report)"}},
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}},
                                            "required": True}})
async def upload_csv(name: str, request: Request, user: GetUserDep,
                     filename: Annotated[str, Query(max_length=200)] = "upload.csv"):
    # Async to stream the body to disk; the store work runs on pool threads with their own hook.
    view = await run_in_threadpool(campaign, name, user, "PUT")
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
    hook = campaign_hook(view)
    region = view.campaign.default_region
    try:  # one process: a web worker should not start a validation pool (the CLI does, for big files)
        report = hook.import_leads_csv(stored_id(hook, view), path, region, clock.now(), workers=1,
                                       source=source)
    except LeadFileError as e:  # a file-level problem: the stored report says what and where
        raise HTTPException(422, {"message": "the file cannot be imported",
                                  **(import_result(hook, e.report) if e.report else {}), "error": str(e)}) from None
    return import_result(hook, report)


@router.get("/campaigns/{name}/imports/{report_id}", response_model=ImportReport,
            summary="An import's report and rejected rows")
def import_report(name: str, report_id: int, user: GetUserDep):
    view = campaign(name, user)
    hook = campaign_hook(view)
    report = hook.page_import_report(view.store_id, report_id) if view.store_id else None
    if report is None:
        raise HTTPException(404, f"no import {report_id} in campaign {name!r}")
    return {**report, "rejects": hook.import_rejects(report_id, REJECTS_SHOWN)}
