"""Hooks: all of outcall's I/O. `campaign_hooks` is the one place a campaign's own store and
Twilio account are opened (imports are lazy: lead_import's worker processes load no Airflow)."""
from __future__ import annotations


def campaign_hooks(campaign):
    """(CampaignHook, TwilioHook) on the connections the campaign file names."""
    from outcall_provider.hooks.campaign import CampaignHook
    from outcall_provider.hooks.twilio import TwilioHook

    return CampaignHook(campaign.db_conn_id), TwilioHook(campaign.twilio_conn_id)
