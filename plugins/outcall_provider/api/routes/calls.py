"""Calls: a page of a campaign's calls (attempts), optionally one lead's."""
from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Query

from outcall_provider.api import views
from outcall_provider.api.datamodels import CallPage
from outcall_provider.api.routes.common import PREFIX, campaign, campaign_hook

router = APIRouter(prefix=PREFIX, tags=["calls"])


@router.get("/campaigns/{name}/calls", response_model=CallPage,
            summary="Calls (attempts), newest first (keyset paging)")
def list_calls(name: str, user: GetUserDep,
               lead_id: Annotated[int | None, Query(ge=1)] = None,
               before: Annotated[int | None, Query(ge=1)] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50):
    view = campaign(name, user)
    return views.calls_page(campaign_hook(view), view, before=before, limit=limit, lead_id=lead_id)
