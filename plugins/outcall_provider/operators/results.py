"""The last step of a campaign tick: its results to the warehouse, and the results asset event.

The task's outlet is the campaign's asset `outcall://<campaign>/results`. Airflow records an
event for every outlet of a task that succeeds, so a tick that changed nothing ends skipped:
a skipped task records none, and DAGs scheduled on the asset run only after ticks that judged
calls or moved leads.
"""
from __future__ import annotations

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from outcall_provider import clock
from outcall_provider.campaign_files import find_campaign
from outcall_provider.hooks.results import ResultsHook


def results_asset(campaign_name: str) -> Asset:
    """The asset a campaign's ticks update; schedule a DAG on it to follow the results."""
    uri = f"outcall://{campaign_name}/results"
    return Asset(uri=uri, name=uri)


class CampaignResultsOperator(BaseOperator):
    """Write the leads and judged attempts that changed since the last export to the campaign's
    `results` table (if its file names one), and emit the results asset event with the counts."""

    def __init__(self, *, campaign_name: str, **kwargs):
        kwargs.setdefault("outlets", [results_asset(campaign_name)])
        super().__init__(**kwargs)
        self.campaign_name = campaign_name

    def execute(self, context) -> dict:
        campaign = find_campaign(self.campaign_name)
        hook = ResultsHook(campaign)
        try:
            counts = hook.export(context["run_id"], clock.now())
        finally:
            hook.close()
        table = campaign.results.table if campaign.results else None
        extra = counts.event_extra(campaign.name, table)
        if not counts:
            raise AirflowSkipException("no call judged and no lead changed since the last export: "
                                       "nothing written, no results asset event")
        self.log.info("%s leads and %s judged calls changed%s; results asset event: %s",
                      counts.leads, counts.attempts, f", written to {table}" if table else "", extra)
        context["outlet_events"][results_asset(campaign.name)].extra = extra
        return extra
