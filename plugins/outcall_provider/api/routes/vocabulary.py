"""GET /vocabulary: the statuses the page shows, from rules/states.py (the page keeps no copy)."""
from __future__ import annotations

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter

from outcall_provider.api.datamodels import Vocabulary
from outcall_provider.api.routes.common import PREFIX
from outcall_provider.rules.states import CALL_STATUSES, LEAD_STATUSES, PAGE_STATUSES, CampaignStatus

router = APIRouter(prefix=PREFIX, tags=["vocabulary"])


@router.get("/vocabulary", response_model=Vocabulary,
            summary="The statuses a lead, a call and a campaign can have, in display order")
def vocabulary(user: GetUserDep):
    return {"lead_statuses": list(LEAD_STATUSES), "call_statuses": list(CALL_STATUSES),
            "campaign_statuses": [s.value for s in CampaignStatus], "page_statuses": list(PAGE_STATUSES)}
