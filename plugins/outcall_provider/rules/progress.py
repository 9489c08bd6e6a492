"""Where a campaign stands: completed, and the status the Campaigns page shows."""
from __future__ import annotations

from .states import CampaignStatus, PageStatus


def is_completed(leads: int, open_leads: int, open_attempts: int) -> bool:
    """Every lead is completed or out of attempts, and no call waits to be judged."""
    return leads > 0 and open_leads == 0 and open_attempts == 0


def page_status(store_status: str, dag_paused: bool | None, file_valid: bool = True) -> PageStatus:
    """The file first: a broken file has no DAG, and "paused" would hide what the person must
    fix. Then the store decides completion; the DAG the rest (None: Airflow has not loaded it)."""
    if not file_valid:
        return PageStatus.INVALID_FILE
    if store_status == CampaignStatus.COMPLETED:
        return PageStatus.COMPLETED
    if dag_paused is None or dag_paused:
        return PageStatus.DRAFT if store_status == CampaignStatus.DRAFT else PageStatus.PAUSED
    return PageStatus.IN_PROGRESS
