"""Leads: a page of them, a person's status change, one added by hand."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, HTTPException, Query, status

from outcall_provider import clock
from outcall_provider.api import views
from outcall_provider.api.datamodels import ImportResult, LeadPage, LeadStatusChanged, NewLead, StatusChange
from outcall_provider.api.routes.common import PREFIX, Store, campaign, campaign_hook, import_result, stored_id
from outcall_provider.hooks.campaign import LeadBusy
from outcall_provider.rules.leads import EXTERNAL_ID, MAX_SECONDARY, PHONE, RESERVED_WHY, LeadFileError
from outcall_provider.rules.phone import mask_phone
from outcall_provider.rules.states import LEAD_STATUSES
from outcall_provider.rules.twiml import OUTCALL_PARAMETERS

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, tags=["leads"])
SEARCH = "exact phone, external_id or lead id"


@router.get("/campaigns/{name}/leads", response_model=LeadPage,
            summary="A page of leads, latest activity first or newest first (keyset paging)")
def list_leads(name: str, user: GetUserDep,
               lead_status: Annotated[Literal[LEAD_STATUSES] | None, Query(alias="status")] = None,
               q: Annotated[str | None, Query(max_length=100, description=SEARCH)] = None,
               sort: Annotated[Literal["activity", "newest"], Query(
                   description="activity: latest activity first (default); newest: newest lead first")] = "activity",
               before: Annotated[int | None, Query(ge=1, description="next_before of the previous page")] = None,
               before_at: Annotated[datetime | None, Query(
                   description="next_before_at of the previous page (sort=activity)")] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50):
    view = campaign(name, user)
    return views.lead_page(campaign_hook(view), view, status=lead_status, q=q, sort=sort, before=before,
                           before_at=before_at, limit=limit)


@router.patch("/campaigns/{name}/leads/{lead_id}", response_model=LeadStatusChanged,
              summary="Call a lead again (created) or stop (completed)",
              description="`completed` always wins: a call in flight still ends, but no call is placed "
                          "after the change. `created` while a call is in flight answers 409 (it would "
                          "call the same person twice at once): set it again once the call has ended.",
              responses={409: {"description": "the lead has a call in flight, or the campaign file is invalid"}})
def change_lead_status(name: str, lead_id: int, change: StatusChange, user: GetUserDep):
    view = campaign(name, user, "PUT")
    hook = campaign_hook(view)
    try:
        row = hook.set_lead_status(view.store_id, lead_id, change.status, clock.now()) if view.store_id else None
    except LeadBusy as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id} in campaign {name!r}")
    log.info("lead %s of %s set to %s by %s", lead_id, name, change.status, user.get_name())
    return row


@router.post("/campaigns/{name}/leads", status_code=201, response_model=ImportResult,
             summary="Add one lead by hand, validated exactly like a CSV row",
             responses={409: {"description": "a lead has its phone number or external_id; nothing changed "
                                             "(detail: message, conflicts and the import result); or the "
                                             "campaign file is invalid"},
                        422: {"description": "the lead was refused (detail: message and the import result)"}})
def add_lead(name: str, lead: NewLead, hook: Store, user: GetUserDep):
    view = campaign(name, user, "PUT")
    columns = {PHONE, EXTERNAL_ID} | {f"secondary_phone_{i}" for i in range(1, MAX_SECONDARY + 1)}
    if columns & lead.variables.keys():
        raise HTTPException(422, f"variable names may not be {', '.join(sorted(columns & lead.variables.keys()))}")
    if taken := [name for name in OUTCALL_PARAMETERS if name in lead.variables]:
        raise HTTPException(422, f"variable {', '.join(f'`{n}`' for n in taken)} is not allowed: {RESERVED_WHY}")
    header = ["phone_number", *[f"secondary_phone_{i + 1}" for i in range(len(lead.secondary_phones))],
              "external_id", *lead.variables]
    row = [lead.phone_number, *lead.secondary_phones, lead.external_id or "", *lead.variables.values()]
    region = view.campaign.default_region
    try:  # never an update: a lead with this phone or external_id is a conflict, not an overwrite
        report = hook.add_lead(stored_id(hook, view), f"added by {user.get_name()}", header, row, region,
                               clock.now())
    except LeadFileError as e:  # e.g. a variable name that cannot be stored
        raise HTTPException(422, {"message": "the lead was not added", "error": str(e)}) from None
    result = import_result(hook, report)
    for reject in result["rejects"]:  # one lead, no file: its errors name fields, not a line
        reject["line"] = None
    if report.conflicts:
        [clash, *_] = report.conflicts
        raise HTTPException(status.HTTP_409_CONFLICT, {
            "message": f"the lead was not added: {clash['reason']} ({clash['field']} {clash['value']}); "
                       "nothing was changed", "conflicts": report.conflicts, **result})
    if report.rejected:
        raise HTTPException(422, {"message": "the lead was not added", **result})
    log.info("lead %s added to %s by %s", mask_phone(lead.phone_number), name, user.get_name())
    return result
