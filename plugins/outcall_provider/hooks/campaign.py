"""CampaignHook: the PostgreSQL campaign store. Every query of the store goes through here."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from airflow.providers.postgres.hooks.postgres import PostgresHook
from psycopg.types.json import Jsonb

from outcall_provider import sql
from outcall_provider.hooks import lead_import
from outcall_provider.hooks.campaign_pages import CampaignPagesMixin
from outcall_provider.rules import pacing
from outcall_provider.rules.campaign import Campaign
from outcall_provider.rules.outcome import Action, CallOutcome

MIGRATION_LOCK = 4_242_001  # pg advisory lock ids: one migrator at a time,
IN_FLIGHT_LOCK = 4_242_002  # and one dialer at a time counting a campaign's calls in flight
LEAD_STATUSES = ("created", "scheduled", "processing", "rescheduled", "completed", "max_retries")
_OUTCOME_STATUS = {
    Action.COMPLETE: "completed",
    Action.MAX_RETRIES: "max_retries",
    Action.NEXT_CONTACT: "rescheduled",
    Action.RETRY: "rescheduled",
}


class CampaignHook(CampaignPagesMixin, PostgresHook):
    """The campaign store on the `outcall_db` connection; migrates itself on first use."""

    conn_name_attr = "outcall_conn_id"
    default_conn_name = "outcall_db"
    hook_name = "outcall campaign store"
    _migrated: set[str] = set()

    def __init__(self, outcall_conn_id: str = default_conn_name, **kwargs):
        super().__init__(outcall_conn_id=outcall_conn_id, **kwargs)
        self.outcall_conn_id = outcall_conn_id
        self._conn = None
        self._side = None  # a second connection for row locks held across a Twilio request

    # -- connection and schema ---------------------------------------------------------
    @property
    def db(self):
        if self._conn is None or self._conn.closed:
            self._conn = self.get_conn()
            self._conn.autocommit = False
            if self.outcall_conn_id not in CampaignHook._migrated:
                self.migrate()
        return self._conn

    def close(self) -> None:
        for conn in (self._conn, self._side):
            if conn is not None and not conn.closed:
                conn.close()

    def migrate(self) -> list[str]:
        """Apply the migrations in include/sql/migrations that this store has not seen."""
        conn = self._conn or self.get_conn()
        applied: list[str] = []
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cur.execute("create table if not exists outcall_schema_migrations "
                        "(version text primary key, applied_at timestamptz not null default now())")
            cur.execute("select version from outcall_schema_migrations")
            done = {r[0] for r in cur.fetchall()}
            for version, text in sql.migrations():
                if version not in done:
                    cur.execute(text)
                    cur.execute("insert into outcall_schema_migrations (version) values (%s)", (version,))
                    applied.append(version)
        conn.commit()
        CampaignHook._migrated.add(self.outcall_conn_id)
        return applied

    def _rows(self, name: str, params: dict) -> list[dict[str, Any]]:
        with self.db.cursor() as cur:
            cur.execute(sql.query(name), params)
            cols = [d.name for d in cur.description] if cur.description else []
            rows = [dict(zip(cols, r)) for r in cur.fetchall()] if cols else []
        self.db.commit()
        return rows

    # -- campaigns -----------------------------------------------------------------------
    def upsert_campaign(self, campaign: Campaign, now: datetime) -> int:
        rows = self._rows("campaign_upsert", {"name": campaign.name, "spec": Jsonb(campaign.to_dict()), "now": now})
        return rows[0]["id"]

    def get_campaign(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("campaign_get", {"name": name})
        return rows[0] if rows else None

    def campaign_id(self, name: str) -> int:
        row = self.get_campaign(name)
        if row is None:
            raise LookupError(f"campaign {name!r} is not in the store yet (import its leads first)")
        return row["id"]

    def set_campaign_status(self, campaign_id: int, status: str, now: datetime) -> bool:
        with self.db.cursor() as cur:
            cur.execute(sql.query("campaign_set_status"), {"campaign_id": campaign_id, "status": status, "now": now})
            changed = cur.rowcount > 0
        self.db.commit()
        return changed

    def campaign_progress(self, campaign_id: int) -> dict[str, Any]:
        """open_leads (not terminal), leads, open_attempts (not judged yet)."""
        return self._rows("campaign_progress", {"campaign_id": campaign_id})[0]

    def next_due_at(self, campaign_id: int) -> datetime | None:
        """When the campaign's next lead falls due (an index lookup, cheap between calls)."""
        return self._rows("lead_next_due", {"campaign_id": campaign_id})[0]["next_due_at"]

    def leads_without_dialable_contact(self, campaign_id: int) -> int:
        return self._rows("leads_without_dialable_contact", {"campaign_id": campaign_id})[0]["count"]

    def set_fingerprints(self, campaign_id: int, leads: str | None = None, preflight: str | None = None) -> None:
        self._rows("campaign_set_fingerprints", {"campaign_id": campaign_id, "leads_fingerprint": leads,
                                                 "preflight_fingerprint": preflight})

    def campaign_stats(self, campaign_id: int) -> dict[str, Any]:
        row = self._rows("campaign_stats", {"campaign_id": campaign_id})[0]
        row["leads_by_status"] = {s: row["leads_by_status"].get(s, 0) for s in LEAD_STATUSES}
        row["conversion"] = (row["goal_met"] / row["leads"]) if row["leads"] else None
        return row

    # -- leads ---------------------------------------------------------------------------
    def import_leads_csv(self, campaign_id: int, path: str, default_region: str | None, now: datetime,
                         workers: int | None = None) -> lead_import.ImportReport:
        return lead_import.import_csv(self.db, campaign_id, str(path), default_region, now, workers)

    def import_lead_records(self, campaign_id: int, source: str, header, records, default_region, now,
                            workers: int | None = None) -> lead_import.ImportReport:
        return lead_import.import_records(self.db, campaign_id, source, header, records,
                                          default_region, now, workers)

    def import_rejects(self, report_id: int, limit: int = 100) -> list[dict[str, Any]]:
        return self._rows("import_rejects", {"report_id": report_id, "limit": limit})

    def claim_due_leads(self, campaign_id: int, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Mark up to `limit` due leads `scheduled` and return them, in due order."""
        rows = self._rows("claim_due_leads", {"campaign_id": campaign_id, "now": now, "limit": limit})
        return sorted(rows, key=lambda r: r["id"])

    def claimed_leads(self, lead_ids: list[int]) -> list[dict[str, Any]]:
        """The leads of a batch descriptor that are still waiting to be dialed."""
        return self._rows("leads_claimed", {"lead_ids": list(lead_ids)})

    def find_lead(self, campaign_id: int, ref: str) -> int | None:
        """A lead by id, else external_id, else phone number."""
        rows = self._rows("lead_find", {"campaign_id": campaign_id, "ref": str(ref)})
        return rows[0]["id"] if rows else None

    def set_lead_status(self, campaign_id: int, lead_id: int, status: str, now: datetime) -> dict | None:
        if status not in ("created", "completed"):
            raise ValueError(f"a lead can be set by hand to `created` or `completed`, not {status!r}")
        rows = self._rows("lead_set_status", {"campaign_id": campaign_id, "lead_id": lead_id,
                                              "status": status, "now": now})
        return rows[0] if rows else None

    def preview(self, campaign_id: int, at: datetime, sample: int = 10) -> list[dict[str, Any]]:
        groups = self._rows("preview_counts", {"campaign_id": campaign_id, "at": at})
        for g in groups:
            g["sample"] = self._rows("preview_leads", {"campaign_id": campaign_id, "at": at,
                                                       "group": g["reason"], "limit": sample})
        return groups

    # -- attempts ------------------------------------------------------------------------
    def record_attempt(self, campaign_id: int, lead: dict, to_number: str, from_number: str,
                       now: datetime, max_in_flight: int | None = None) -> int | None | Literal["full"]:
        """Write the attempt before dialing; None if this attempt exists already (do not dial).
        With `max_in_flight`, only while the campaign has fewer calls going ("full" otherwise):
        the count and the insert happen under one per-campaign lock, so any number of dialers
        together never exceed it."""
        with self.db.cursor() as cur:
            if max_in_flight is not None:
                cur.execute("select pg_advisory_xact_lock(%s, %s)", (IN_FLIGHT_LOCK, campaign_id))
                cur.execute(sql.query("attempt_in_flight"), {"campaign_id": campaign_id})
                if cur.fetchone()[0] >= max_in_flight:
                    self.db.rollback()
                    return "full"
            cur.execute(sql.query("attempt_record"), {
                "campaign_id": campaign_id, "lead_id": lead["id"], "cycle": lead["cycle"],
                "round": lead["round"], "contact_index": lead["contact_index"],
                "to_number": to_number, "from_number": from_number, "now": now})
            row = cur.fetchone()
            if row is not None:
                cur.execute(sql.query("lead_set_processing"), {"lead_id": lead["id"], "now": now})
        self.db.commit()
        return row[0] if row else None

    def set_attempt_sid(self, attempt_id: int, call_sid: str, call_status: str = "queued") -> None:
        self._rows("attempt_set_sid", {"attempt_id": attempt_id, "call_sid": call_sid, "call_status": call_status})

    def in_flight(self, campaign_id: int) -> int:
        return self._rows("attempt_in_flight", {"campaign_id": campaign_id})[0]["count"]

    @contextmanager
    def attempt_locked(self, attempt_id: int):
        """Hold an attempt's row lock (on a connection of its own) while its call is placed,
        so that reconciliation never mistakes a live dial for a crashed one."""
        conn = self._side_conn()
        try:
            with conn.cursor() as cur:
                cur.execute(sql.query("attempt_lock"), {"attempt_id": attempt_id})
            yield _LockedAttempt(conn, attempt_id)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    @contextmanager
    def orphan_attempts(self, campaign_id: int, before: datetime):
        """SID-less attempts no live dialer holds, as (row, locked attempt) pairs, locked for
        resolution until the block ends."""
        conn = self._side_conn()
        try:
            with conn.cursor() as cur:
                cur.execute(sql.query("attempt_orphans"), {"campaign_id": campaign_id, "before": before})
                cols = [d.name for d in cur.description]
                rows = [dict(zip(cols, r)) for r in cur.fetchall()]
            yield [(row, _LockedAttempt(conn, row["id"])) for row in rows]
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def known_sids(self, sids: list[str]) -> set[str]:
        return {r["call_sid"] for r in self._rows("attempt_sids_known", {"sids": list(sids)})}

    def open_attempts(self, campaign_id: int) -> list[dict[str, Any]]:
        return self._rows("attempt_open", {"campaign_id": campaign_id})

    def release_leads(self, lead_ids: list[int], now: datetime) -> None:
        if lead_ids:
            self._rows("lead_release", {"lead_ids": list(lead_ids), "now": now})

    def release_stale_claims(self, campaign_id: int, before: datetime, now: datetime) -> int:
        with self.db.cursor() as cur:
            cur.execute(sql.query("lead_release_stale"), {"campaign_id": campaign_id, "before": before, "now": now})
            n = cur.rowcount
        self.db.commit()
        return n

    def mark_contact_invalid(self, lead_id: int, position: int, reason: str) -> bool:
        """Never dial this contact again; returns whether the lead has a dialable contact left."""
        rows = self._rows("contact_mark_invalid", {"lead_id": lead_id, "position": position, "reason": reason})
        return bool(rows and rows[0]["has_dialable_contact"])

    def apply_lead_outcome(self, lead_id: int, cycle: int, outcome: CallOutcome, now: datetime) -> None:
        """Move a lead on without a call (its contact cannot be dialed)."""
        self._rows("lead_apply_outcome", self._outcome_params(lead_id, cycle, outcome, now))

    def pace(self, account_sid: str, cps: float, clock, sleep) -> datetime:
        """Wait for this account's next calls-per-second slot and take it (any number of
        dialers, one account). Returns the moment the slot was taken."""
        self._rows("pacing_ensure", {"account_sid": account_sid})
        while True:
            with self.db.cursor() as cur:
                cur.execute(sql.query("pacing_lock"), {"account_sid": account_sid})
                recent = list(cur.fetchone()[0])
                now = clock()
                at = pacing.next_send_at(recent, now, cps)
                if at <= now:
                    cur.execute(sql.query("pacing_record"), {
                        "account_sid": account_sid, "recent_sends": pacing.record_send(recent, now, cps)})
                    self.db.commit()
                    return now
            self.db.rollback()
            sleep((at - now).total_seconds())

    def _side_conn(self):
        if self._side is None or self._side.closed:
            self._side = self.get_conn()
            self._side.autocommit = False
        return self._side

    def update_attempt_call(self, attempt_id: int, call_status: str, answered_by=None, duration_s=None,
                            price=None, price_unit=None, ended_at=None) -> None:
        self._rows("attempt_update_call", {
            "attempt_id": attempt_id, "call_status": call_status, "answered_by": answered_by,
            "duration_s": duration_s, "price": price, "price_unit": price_unit, "ended_at": ended_at})

    def set_call_variables(self, call_sid: str, variables: dict, now: datetime) -> bool:
        return bool(self._rows("attempt_set_variables",
                               {"call_sid": call_sid, "variables": Jsonb(variables), "now": now}))

    def apply_outcome(self, attempt_id: int, cycle: int, outcome: CallOutcome, now: datetime) -> bool:
        """Judge an attempt and move its lead on, in one transaction; False if judged already."""
        if outcome.action is Action.WAIT:
            return False
        with self.db.cursor() as cur:
            cur.execute(sql.query("attempt_judge"), {
                "attempt_id": attempt_id, "outcome": outcome.action.value, "reason": outcome.reason,
                "note": outcome.note or None, "goal_met": outcome.goal_met, "now": now})
            row = cur.fetchone()
            if row is not None:
                cur.execute(sql.query("lead_apply_outcome"), self._outcome_params(row[0], cycle, outcome, now))
        self.db.commit()
        return row is not None

    @staticmethod
    def _outcome_params(lead_id: int, cycle: int, outcome: CallOutcome, now: datetime) -> dict:
        return {"lead_id": lead_id, "cycle": cycle, "status": _OUTCOME_STATUS[outcome.action],
                "next_round": outcome.next_round, "next_contact_index": outcome.next_contact_index,
                "due_at": outcome.due_at, "goal_met": outcome.goal_met, "reason": outcome.reason, "now": now}


class _LockedAttempt:
    def __init__(self, conn, attempt_id: int):
        self._conn, self.attempt_id = conn, attempt_id

    def set_sid(self, call_sid: str, call_status: str = "queued") -> None:
        with self._conn.cursor() as cur:
            cur.execute(sql.query("attempt_set_sid"),
                        {"attempt_id": self.attempt_id, "call_sid": call_sid, "call_status": call_status})

    def set_error(self, error: str) -> None:
        with self._conn.cursor() as cur:
            cur.execute(sql.query("attempt_set_error"), {"attempt_id": self.attempt_id, "error": error,
                                                         "call_status": None})

    def set_failed(self, error: str) -> None:
        """Twilio refused the call: no call exists, the attempt ends here."""
        with self._conn.cursor() as cur:
            cur.execute(sql.query("attempt_set_error"), {"attempt_id": self.attempt_id, "error": error,
                                                         "call_status": "failed"})

    def drop_unplaced(self, now: datetime) -> None:
        with self._conn.cursor() as cur:
            cur.execute(sql.query("attempt_drop_unplaced"), {"attempt_id": self.attempt_id, "now": now})
