"""One Airflow DAG per campaign file: `campaign_<name>`, a tick every 10 minutes.

Parse time reads the campaign files only: no database, no network.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, get_parsing_context

from outcall_provider.campaign_files import (
    cached_campaigns,
    campaign_path,
    invalid_campaign_files,
    load_campaign_cached,
)
from outcall_provider.operators.dial import DialLeadsOperator, ReconcileCallsOperator, dialers_for
from outcall_provider.operators.results import CampaignResultsOperator
from outcall_provider.operators.tick import SyncCampaignOperator
from outcall_provider.rules.campaign import DAG_ID_PREFIX, Campaign, CampaignFileError
from outcall_provider.rules.describe import describe

DEFAULT_TICK_SECONDS = 600
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def tick_seconds() -> int:
    """The tick period; OUTCALL_TICK_SECONDS shortens it for tests."""
    return int(os.environ.get("OUTCALL_TICK_SECONDS") or DEFAULT_TICK_SECONDS)


def campaign_dag(campaign: Campaign) -> DAG:
    tick = tick_seconds()
    with DAG(
        dag_id=campaign.dag_id,
        schedule=timedelta(seconds=tick),
        start_date=START,
        catchup=False,
        # Two runs at a time: a tick's dialer keeps the lines busy while the next tick syncs,
        # and stops when the next tick's dialer starts.
        max_active_runs=2,
        is_paused_upon_creation=True,  # a new campaign is a draft until someone unpauses it
        doc_md=_doc(campaign),
        tags=["outcall", "campaign"],
        # "upstream": a run's later steps outrank other runs' first ones, so with many campaigns
        # a run ends (max_active_runs frees up) before more runs start.
        default_args={"retries": 1, "retry_delay": timedelta(seconds=20), "weight_rule": "upstream"},
    ) as dag:
        sync = SyncCampaignOperator(task_id="sync_leads_and_preflight", campaign_name=campaign.name)
        dialers = dialers_for(campaign.max_calls_in_parallel)
        if dialers == 1:
            # starts in the triggerer: with many campaigns, a worker start per campaign before
            # its first call is what would make the last campaign's first call wait
            dial = DialLeadsOperator(task_id="dial", campaign_name=campaign.name, tick_seconds=tick,
                                     start_from_trigger=True)
        else:
            # several dialers start on workers: their first calls go out from several workers
            # (machines) at once, then each waits in a triggerer
            dial = DialLeadsOperator.partial(
                task_id="dial", campaign_name=campaign.name, tick_seconds=tick,
                map_index_template=f"dialer {{{{ task.dialer }}}} of {dialers}",
            ).expand(dialer=list(range(1, dialers + 1)))
        # after the dialer, all_done: the next tick's dialer is already dialing; this brings the
        # open attempts of a dialer that crashed up to date, fills in late prices, and says the
        # campaign's status (one task: each task start costs a worker seconds of CPU)
        reconcile = ReconcileCallsOperator(task_id="reconcile_calls", campaign_name=campaign.name,
                                           trigger_rule="all_done")
        # all_done: calls judged in a tick whose dialer failed are results too
        results = CampaignResultsOperator(task_id="campaign_results", campaign_name=campaign.name,
                                          trigger_rule="all_done")
        sync >> dial >> reconcile >> results
    return dag


def campaign_dags() -> dict[str, DAG]:
    """A DAG for every valid campaign file; invalid files are reported by file_errors().

    A task's process reads the campaign file of its own DAG only (Airflow's parsing context
    names it): with a hundred campaigns, each task start then reads and builds one, not a
    hundred (a hundred files cost a task start about 0.14 s of CPU)."""
    wanted = get_parsing_context().dag_id
    campaigns = cached_campaigns() if wanted is None else _campaign_of_dag(wanted)
    return {campaign.dag_id: campaign_dag(campaign) for campaign in campaigns}


def _campaign_of_dag(dag_id: str) -> list[Campaign]:
    """The valid campaign whose DAG is `dag_id`, read from its file alone (or none): a file's
    campaign name is its file name (load_campaign checks), so its DAG is the one wanted."""
    path = campaign_path(dag_id.removeprefix(DAG_ID_PREFIX)) if dag_id.startswith(DAG_ID_PREFIX) else None
    try:
        return [load_campaign_cached(path)] if path else []
    except CampaignFileError:
        return []


def file_errors() -> list[CampaignFileError]:
    return list(invalid_campaign_files().values())


def _doc(campaign: Campaign) -> str:
    rows = "".join(f"| {what} | {words} |\n" for what, words in describe(campaign))
    return (f"### Campaign {campaign.name}\n\n| | |\n|---|---|\n{rows}"
            f"| results | {_results_doc(campaign)} |\n\n"
            f"Pause the DAG to pause the campaign: no new calls; calls in flight are reconciled on resume.")


def _results_doc(campaign: Campaign) -> str:
    asset = f"asset `outcall://{campaign.name}/results`"
    if campaign.results is None:
        return asset
    target = campaign.results
    return f"`{target.table}` and `{target.attempts_table}` on `{target.conn_id}`; {asset}"
