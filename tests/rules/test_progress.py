"""Campaign-level rules, table-tested."""
import pytest

from outcall_provider.rules.progress import is_completed, page_status
from outcall_provider.rules.states import CampaignStatus


@pytest.mark.parametrize("leads, open_leads, open_attempts, done", [
    (10, 0, 0, True),    # every lead terminal, nothing to judge
    (10, 1, 0, False),   # a lead still to call
    (10, 0, 1, False),   # a call still to judge
    (0, 0, 0, False),    # no leads yet: not completed, just empty
])
def test_a_campaign_is_completed_when_every_lead_is_terminal(leads, open_leads, open_attempts, done):
    assert is_completed(leads, open_leads, open_attempts) is done


@pytest.mark.parametrize("store_status, dag_paused, shown", [
    ("completed", False, CampaignStatus.COMPLETED),  # the store decides completion
    ("completed", None, CampaignStatus.COMPLETED),
    ("draft", True, CampaignStatus.DRAFT),           # never started
    ("draft", None, CampaignStatus.DRAFT),           # DAG not loaded yet
    ("in_progress", True, CampaignStatus.PAUSED),    # the DAG was paused
    ("paused", None, CampaignStatus.PAUSED),
    ("draft", False, CampaignStatus.IN_PROGRESS),    # unpaused: running
    ("paused", False, CampaignStatus.IN_PROGRESS),
])
def test_the_page_shows_the_store_and_the_dag_together(store_status, dag_paused, shown):
    assert page_status(store_status, dag_paused) is shown
