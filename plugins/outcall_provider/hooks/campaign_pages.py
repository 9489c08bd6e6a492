"""CampaignPagesMixin: the store reads and writes behind the Campaigns page, its API and webhooks.

Mixed into CampaignHook, so it uses the hook's connection (`self.db`) and named queries.
Page queries run unprepared: psycopg prepares a statement after a few runs and PostgreSQL may
then switch to a generic plan, which loses the keyset bounds' selectivity at 1M leads.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from outcall_provider import sql
from outcall_provider.hooks.call_ends import CALL_ENDED_CHANNEL
from outcall_provider.rules.outcome import REACHED_A_PERSON_REASONS
from outcall_provider.rules.states import LEAD_STATUSES

NO_CURSOR = 2**63 - 1  # "before" of a first page: larger than any id
COMPACT_AFTER = 500    # count delta rows a campaign may pile up before they are folded


class CampaignPagesMixin:
    def _page_rows(self, name: str, params: dict) -> list[dict[str, Any]]:
        with self.db.cursor() as cur:
            cur.execute(sql.query(name), params, prepare=False)
            cols = [d.name for d in cur.description] if cur.description else []
            rows = [dict(zip(cols, r)) for r in cur.fetchall()] if cols else []
        self.db.commit()
        return rows

    # -- campaigns -----------------------------------------------------------------------
    def page_campaign_ids(self) -> dict[str, dict[str, Any]]:
        """Every campaign in the store by name: id, status, spec."""
        with self.db.cursor() as cur:
            cur.execute("select id, name, status, spec from outcall_campaigns order by name")
            rows = {r[1]: {"id": r[0], "status": r[2], "spec": r[3]} for r in cur.fetchall()}
        self.db.commit()
        return rows

    def page_campaign_summary(self, campaign_id: int, day_start: datetime) -> dict[str, Any]:
        row = self._page_rows("page_campaign_summary", {"campaign_id": campaign_id, "day_start": day_start})[0]
        if row.pop("count_rows") > COMPACT_AFTER:
            self._page_rows("page_lead_counts_compact", {"campaign_id": campaign_id})
        row["leads_by_status"] = {s: row["leads_by_status"].get(s, 0) for s in LEAD_STATUSES}
        row["leads"] = sum(row["leads_by_status"].values())
        return row

    def page_campaign_charts(self, campaign_id: int, timezone: str) -> dict[str, Any]:
        """Outcomes of judged calls, live calls by status, the funnel's per-lead counts, answer rate."""
        return self._page_rows("page_campaign_charts", {"campaign_id": campaign_id, "timezone": timezone,
                                                        "reached": list(REACHED_A_PERSON_REASONS)})[0]

    # -- leads ---------------------------------------------------------------------------
    def page_leads(self, campaign_id: int, *, statuses=LEAD_STATUSES, sort: str = "activity",
                   before: int | None = None, before_at: datetime | None = None, limit: int = 50,
                   phone: str | None = None, text: str | None = None,
                   lead_id: int | None = None) -> list[dict[str, Any]]:
        """A page of leads: `activity` (latest activity first, paged on before_at and before) or
        `newest` (newest first, paged on before); with phone/text/lead_id only the exact matches."""
        params = {"campaign_id": campaign_id, "statuses": list(statuses),
                  "before": before or NO_CURSOR, "limit": limit}
        if phone or text or lead_id:
            params.update(phone=phone, text=text, lead_id=lead_id)
            ids = [r["id"] for r in self._page_rows("page_leads_find", params)]
        elif sort == "activity":
            ids = [r["id"] for r in self._page_rows("page_leads_activity", {**params, "before_at": before_at})]
        elif sort == "newest":
            ids = [r["id"] for r in self._page_rows("page_leads", params)]
        else:
            raise ValueError(f"sort {sort!r}; allowed activity, newest")
        if not ids:
            return []
        rows = {r["id"]: r for r in self._page_rows("page_lead_rows", {"campaign_id": campaign_id, "ids": ids})}
        return [rows[i] for i in ids if i in rows]  # in the page's order

    def page_import_report(self, campaign_id: int, report_id: int) -> dict[str, Any] | None:
        rows = self._page_rows("page_import_report", {"campaign_id": campaign_id, "report_id": report_id})
        return rows[0] if rows else None

    # -- calls ---------------------------------------------------------------------------
    def page_calls(self, campaign_id: int, *, before: int | None = None, limit: int = 50,
                   lead_id: int | None = None) -> list[dict[str, Any]]:
        return self._page_rows("page_calls", {"campaign_id": campaign_id, "before": before or NO_CURSOR,
                                              "limit": limit, "lead_id": lead_id})

    # -- webhooks ------------------------------------------------------------------------
    def webhook_call_status(self, call_sid: str, sequence: int, call_status: str, answered_by: str | None,
                            duration_s: int | None, ended_at: datetime | None) -> bool:
        """Apply a status callback; False when it is a repeat, older than one applied, or unknown."""
        rows = self._page_rows("webhook_attempt_status", {
            "call_sid": call_sid, "sequence": sequence, "call_status": call_status,
            "answered_by": answered_by, "duration_s": duration_s, "ended_at": ended_at,
            "channel": CALL_ENDED_CHANNEL})
        return bool(rows)

    def webhook_call_campaign(self, call_sid: str) -> dict[str, Any] | None:
        rows = self._page_rows("webhook_call_campaign", {"call_sid": call_sid})
        return rows[0] if rows else None
