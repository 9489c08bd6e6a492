"""Operators that wire the call engine to a campaign: dial a batch, reconcile calls."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from outcall_provider import clock
from outcall_provider.campaign_files import find_campaign


def campaign_engine(campaign_name: str, **engine_kwargs):
    """The campaign, its store, its Twilio account and the engine over them."""
    from outcall_provider.hooks.campaign import CampaignHook
    from outcall_provider.hooks.twilio import TwilioHook
    from outcall_provider.operators.calls import CallEngine

    campaign = find_campaign(campaign_name)
    store = CampaignHook(campaign.db_conn_id)
    twilio = TwilioHook(campaign.twilio_conn_id)
    return CallEngine(store, twilio, campaign, store.campaign_id(campaign.name), **engine_kwargs)


class DialLeadsOperator(BaseOperator):
    """Dial one batch of claimed leads (a descriptor {"campaign": name, "lead_ids": [...]})."""

    template_fields = ("batch",)

    def __init__(self, *, campaign_name: str, batch: dict | None = None, refill_minutes: float = 0, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name, self.batch, self.refill_minutes = campaign_name, batch, refill_minutes

    def execute(self, context) -> dict[str, Any]:
        engine = campaign_engine(self.campaign_name)
        try:
            leads = engine.store.claimed_leads((self.batch or {}).get("lead_ids", []))
            deadline = clock.now() + timedelta(minutes=self.refill_minutes) if self.refill_minutes else None
            report = engine.dial(leads, deadline=deadline, refill=bool(self.refill_minutes))
        finally:
            engine.store.close()
        self.log.info("dialed %s", report)
        return vars(report)


class ReconcileCallsOperator(BaseOperator):
    """Bring every open attempt of a campaign up to date from Twilio and judge finished calls."""

    def __init__(self, *, campaign_name: str, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name = campaign_name

    def execute(self, context) -> dict[str, Any]:
        engine = campaign_engine(self.campaign_name)
        try:
            report = engine.reconcile()
        finally:
            engine.store.close()
        self.log.info("reconciled %s", report)
        return vars(report)
