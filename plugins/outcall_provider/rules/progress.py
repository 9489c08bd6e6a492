"""Where a campaign stands: completed, and the status the Campaigns page shows."""
from __future__ import annotations

from .states import CampaignStatus


def is_completed(leads: int, open_leads: int, open_attempts: int) -> bool:
    """Every lead is completed or out of attempts, and no call waits to be judged."""
    return leads > 0 and open_leads == 0 and open_attempts == 0


def page_status(store_status: str, dag_paused: bool | None) -> CampaignStatus:
    """The store decides completion; the DAG the rest (None: Airflow has not loaded it)."""
    if store_status == CampaignStatus.COMPLETED:
        return CampaignStatus.COMPLETED
    if dag_paused is None or dag_paused:
        return CampaignStatus.DRAFT if store_status == CampaignStatus.DRAFT else CampaignStatus.PAUSED
    return CampaignStatus.IN_PROGRESS
