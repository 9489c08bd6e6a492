"""The first step of a campaign tick: sync and preflight.

Each operator loads the campaign file, wires one rule to the hooks, and logs what it decided.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from airflow.sdk import BaseOperator

from outcall_provider import clock
from outcall_provider.campaign_files import find_campaign, leads_csv_path
from outcall_provider.exceptions import PreflightError
from outcall_provider.hooks import campaign_hooks
from outcall_provider.hooks.warehouse import WarehouseRows
from outcall_provider.rules import preflight
from outcall_provider.rules.phone import mask_phone
from outcall_provider.rules.states import CampaignStatus


class SyncCampaignOperator(BaseOperator):
    """Upsert the campaign from its file, sync its leads from their source, and run the
    preflight checks whenever the file or the leads changed. Returns the campaign status."""

    def __init__(self, *, campaign_name: str, min_balance: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.campaign_name, self.min_balance = campaign_name, min_balance

    def execute(self, context) -> str:
        campaign = find_campaign(self.campaign_name)
        store, twilio = campaign_hooks(campaign)
        try:
            now = clock.now()
            campaign_id = store.upsert_campaign(campaign, now)
            row = store.get_campaign(campaign.name)
            leads_fp = self._sync_leads(campaign, store, campaign_id, row["leads_fingerprint"], now)
            if assigned := store.assign_missing_clocks(campaign_id):
                self.log.info("%s leads imported before callee clocks existed got theirs", assigned)
            preflight_fp = hashlib.sha256(
                (json.dumps(campaign.to_dict(), sort_keys=True) + (leads_fp or "")).encode()).hexdigest()
            if preflight_fp != row["preflight_fingerprint"]:
                self._preflight(campaign, store, twilio, campaign_id)
                store.set_fingerprints(campaign_id, preflight=preflight_fp)
            if not store.say_completed_if_done(campaign_id, now):
                store.set_campaign_status(campaign_id, CampaignStatus.IN_PROGRESS.value, now)
                return CampaignStatus.IN_PROGRESS.value
            stats = store.campaign_stats(campaign_id)
            self.log.info("campaign %s is completed: %s leads, %s reached the goal; nothing to dial",
                          campaign.name, stats["leads"], stats["goal_met"])
            return CampaignStatus.COMPLETED.value
        finally:
            store.close()

    def _sync_leads(self, campaign, store, campaign_id: int, last_fp: str | None, now) -> str | None:
        source = campaign.leads
        if source is None:
            return last_fp
        region = source.default_region
        if source.csv:
            path = leads_csv_path(campaign)
            if not path.exists():
                raise FileNotFoundError(f"{campaign.path}: leads.csv: {path} does not exist")
            fp = "csv:" + _file_sha256(path)
            if fp == last_fp:
                self.log.info("leads unchanged since the last sync (%s)", path.name)
                return fp
            report = store.import_leads_csv(campaign_id, path, region, now)
        else:
            fp, report = self._sync_sql(campaign, store, campaign_id, region, now)
        store.set_fingerprints(campaign_id, leads=fp)
        self.log.info("leads synced from %s: imported %s, updated %s, rejected %s (import report %s)",
                      report.source, report.imported, report.updated, report.rejected, report.report_id)
        if report.rejected:
            for r in store.import_rejects(report.report_id, 10):
                is_phone = (r["field"] or "").startswith(("phone_number", "secondary_phone_"))
                value = mask_phone(r["value"]) if is_phone and r["value"] else r["value"]
                self.log.warning("line %s: %s=%r: %s", r["line"], r["field"], value, r["reason"])
        return fp

    def _sync_sql(self, campaign, store, campaign_id: int, region, now):
        source = campaign.leads
        with WarehouseRows(source.conn_id, source.sql, campaign.path) as rows:
            report = store.import_lead_records(campaign_id, f"sql on {source.conn_id}", rows.header, rows.records(),
                                               region, now)
        return rows.fingerprint, report

    def _preflight(self, campaign, store, twilio, campaign_id: int) -> None:
        """Gather the facts and let rules/preflight.py judge them."""
        pool = campaign.assistant.phone_numbers
        # The connection's `min_balance` extra; the operator argument only overrides it.
        floor = self.min_balance if self.min_balance is not None else twilio.min_balance
        balance, currency = twilio.balance()
        leads = store.campaign_progress(campaign_id)["leads"]
        result = preflight.check(preflight.PreflightFacts(
            caller_ids=pool, not_owned=tuple(n for n in pool if not twilio.owns_number(n)),
            account_sid=twilio.account_sid,
            twilio_conn_id=campaign.twilio_conn_id, balance=balance, currency=currency, min_balance=floor,
            leads=leads, undialable_leads=store.leads_without_dialable_contact(campaign_id) if leads else 0))
        if not result.passed:
            raise PreflightError(f"campaign {campaign.name} cannot start:\n"
                                 + "\n".join(f"- {p}" for p in result.problems))
        for warning in result.warnings:
            self.log.warning("%s", warning)
        self.log.info("preflight passed: %s owned, %s, %s leads",
                      ", ".join(mask_phone(n) for n in pool), preflight.balance_text(balance, currency), leads)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
