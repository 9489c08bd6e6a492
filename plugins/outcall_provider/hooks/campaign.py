"""CampaignHook: the PostgreSQL campaign store. Every query of the store goes through here."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from time import monotonic  # how long a dialer slept for its CPS slot: a duration, not a time of day
from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook
from psycopg.types.json import Jsonb

from outcall_provider import sql
from outcall_provider.exceptions import LeadBusy
from outcall_provider.hooks import lead_import
from outcall_provider.hooks.campaign_pages import CampaignPagesMixin
from outcall_provider.hooks.dnc import DncMixin
from outcall_provider.hooks.rows import ClaimedLead, OpenAttempt, OrphanAttempt, PricePending
from outcall_provider.rules import pacing
from outcall_provider.rules.campaign import Campaign
from outcall_provider.rules.compliance import CalleeClock, FrequencyCap, cap_reached
from outcall_provider.rules.leads import PLACE_COLUMNS, callee_clock
from outcall_provider.rules.outcome import Action, CallOutcome
from outcall_provider.rules.phone import mask_phones_in_text
from outcall_provider.rules.progress import is_completed
from outcall_provider.rules.states import (
    HAND_SET_LEAD_STATUSES,
    LEAD_STATUSES,
    TERMINAL_LEAD_STATUSES,
    CallStatus,
    CampaignStatus,
)

MIGRATION_LOCK = 4_242_001  # pg advisory lock ids: one migrator at a time,
IN_FLIGHT_LOCK = 4_242_002  # one dialer at a time counting a campaign's calls in flight,
NUMBER_LOCK = 4_242_005     # and one counting the calls to a number (with hashtext(number))
NOT_CHECKED = object()      # apply_outcome without a check of the variables it was decided on


class Written(str, Enum):
    """What became of an attempt the dialer asked to write before dialing."""
    NEW = "new"                  # written: dial it
    EXISTING = "existing"        # written before (a retried task): reconciliation resolves it
    LEAD_CHANGED = "changed"     # a person changed the lead since it was claimed: not ours
    FULL = "full"                # the campaign has max_calls_in_parallel calls going
    CAPPED = "capped"            # the number had its calls in the cap's period: wait until `until`


@dataclass(frozen=True)
class RecordedAttempt:
    written: Written
    attempt_id: int | None = None
    until: datetime | None = None  # CAPPED: when the number's oldest counted call ages out


class CampaignHook(CampaignPagesMixin, DncMixin, PostgresHook):
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
        self._paced_accounts: set[str] = set()  # accounts this hook has taken a CPS slot of

    # -- connection and schema ---------------------------------------------------------
    @property
    def db(self):
        """The store's connection, opened on first use. Opening it also brings the schema up to
        date once per process (`migrate`, idempotent, one migrator at a time), so that no task,
        page or CLI command ever meets a store older than its queries."""
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            if self.outcall_conn_id not in CampaignHook._migrated:
                self.migrate()
        return self._conn

    def _connect(self):
        """A connection whose session runs in UTC, whatever the server's `timezone`: times
        read back go to Twilio and into logs, and must not carry the server's offset."""
        conn = self.get_conn()
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("set time zone 'UTC'")
        conn.commit()
        return conn

    def close(self) -> None:
        for conn in (self._conn, self._side):
            if conn is not None and not conn.closed:
                conn.close()

    def migrate(self) -> list[str]:
        """Apply the migrations (outcall_provider/sql/migrations) that this store has not seen."""
        conn = self._conn or self._connect()
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

    def _changed(self, name: str, params: dict) -> int:
        """Run a statement that writes; returns how many rows it changed."""
        with self.db.cursor() as cur:
            cur.execute(sql.query(name), params)
            n = cur.rowcount
        self.db.commit()
        return n

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

    def take_over_dialing(self, campaign_id: int, tick: datetime) -> datetime:
        """Say that `tick`'s dialers dial the campaign now (a later tick's keep it); returns the
        tick that dials."""
        return self._rows("campaign_take_over_dialing", {"campaign_id": campaign_id, "tick": tick})[0]["dialing_tick"]

    def dialing_tick(self, campaign_id: int) -> datetime | None:
        return self._rows("campaign_dialing_tick", {"campaign_id": campaign_id})[0]["dialing_tick"]

    def set_campaign_status(self, campaign_id: int, status: str, now: datetime) -> bool:
        with self.db.cursor() as cur:
            cur.execute(sql.query("campaign_set_status"), {"campaign_id": campaign_id, "status": status, "now": now})
            changed = cur.rowcount > 0
        self.db.commit()
        return changed

    def campaign_progress(self, campaign_id: int) -> dict[str, Any]:
        """open_leads (not terminal), leads, open_attempts (not judged yet)."""
        return self._rows("campaign_progress", {"campaign_id": campaign_id})[0]

    def campaign_completed(self, campaign_id: int) -> bool:
        """rules/progress.is_completed on the campaign's progress now."""
        p = self.campaign_progress(campaign_id)
        return is_completed(p["leads"], p["open_leads"], p["open_attempts"])

    def say_completed_if_done(self, campaign_id: int, now: datetime) -> bool:
        """Set the campaign `completed` once every lead is terminal (True), else leave its
        status as it is (False). The sync, the dialer and the reconcile step all ask this."""
        done = self.campaign_completed(campaign_id)
        if done:
            self.set_campaign_status(campaign_id, CampaignStatus.COMPLETED.value, now)
        return done

    def next_due_at(self, campaign_id: int, gate: dict) -> datetime | None:
        """When the campaign's next lead may be called, given the compliance gate's next_due_filter:
        no earlier than its callee's hours allow (one index step per clock, cheap between calls)."""
        return self._rows("lead_next_due_gated", {"campaign_id": campaign_id, **gate})[0]["next_due_at"]

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
                         workers: int | None = None, source: str | None = None) -> lead_import.ImportReport:
        return lead_import.import_csv(self.db, campaign_id, str(path), default_region, now, workers, source)

    def import_lead_records(self, campaign_id: int, source: str, header, records, default_region, now,
                            workers: int | None = None) -> lead_import.ImportReport:
        return lead_import.import_records(self.db, campaign_id, source, header, records,
                                          default_region, now, workers)

    def add_lead(self, campaign_id: int, source: str, header: list[str], row: list[str], default_region,
                 now: datetime) -> lead_import.ImportReport:
        """One lead by hand: validated like a CSV row, and never an update of a lead that has its
        phone number or external_id (report.conflicts names the clash instead)."""
        return lead_import.import_records(self.db, campaign_id, source, header, [(2, row)], default_region,
                                          now, workers=1, update_existing=False)

    def import_rejects(self, report_id: int, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._rows("import_rejects", {"report_id": report_id, "limit": limit})
        for r in rows:  # rows stored before values were masked must not show a full number either
            r["value"], r["reason"] = mask_phones_in_text(r["value"]), mask_phones_in_text(r["reason"])
        return rows

    def claim_due_leads(self, campaign_id: int, now: datetime, limit: int, open_clocks: list[int] | None = None,
                        require_consent: bool = False) -> list[ClaimedLead]:
        """Mark up to `limit` due leads `scheduled` and return them, by id. The compliance gate
        (engine/compliance.py) passes `open_clocks`, the callee clocks inside their hours now,
        and `require_consent`; without it (None) every clock counts as open."""
        rows = self._rows("claim_due_leads", {"campaign_id": campaign_id, "now": now, "limit": limit,
                                              "open_clocks": open_clocks, "require_consent": require_consent})
        return [ClaimedLead(**r) for r in rows]

    def find_lead(self, campaign_id: int, ref: str) -> int | None:
        """A lead by id, else external_id, else phone number."""
        rows = self._rows("lead_find", {"campaign_id": campaign_id, "ref": str(ref)})
        return rows[0]["id"] if rows else None

    def set_lead_status(self, campaign_id: int, lead_id: int, status: str, now: datetime) -> dict | None:
        """A person's decision; None if there is no such lead. `completed` always wins (a call
        in flight still ends, but no call is placed after it); `created` while a call is in
        flight (any attempt of the lead, of any cycle) raises LeadBusy: it would call the same
        person twice at once."""
        if status not in HAND_SET_LEAD_STATUSES:
            raise ValueError(f"a lead can be set by hand to `created` or `completed`, not {status!r}")
        rows = self._rows("lead_set_status", {"campaign_id": campaign_id, "lead_id": lead_id,
                                              "status": status, "now": now})
        if not rows:
            return None
        if not rows[0]["changed"]:
            raise LeadBusy(f"lead {lead_id} has a call in flight; set it to `created` once the call "
                           "has ended, or to `completed` to stop calling it")
        return {"id": rows[0]["id"], "status": rows[0]["status"]}

    def preview(self, campaign_id: int, at: datetime, sample: int = 10) -> list[dict[str, Any]]:
        groups = self._rows("preview_counts", {"campaign_id": campaign_id, "at": at})
        for g in groups:  # done leads are only counted
            g["sample"] = [] if g["reason"] in TERMINAL_LEAD_STATUSES else self._rows(
                "preview_leads", {"campaign_id": campaign_id, "at": at, "group": g["reason"], "limit": sample})
        return groups

    # -- attempts ------------------------------------------------------------------------
    def record_attempt(self, campaign_id: int, lead: ClaimedLead, to_number: str, from_number: str,
                       now: datetime, max_in_flight: int | None = None, caps: list[FrequencyCap] = (),
                       audit: dict | None = None) -> RecordedAttempt:
        """Write the attempt before dialing and move the lead to `processing`, only while the
        lead is still `scheduled` in the cycle it was claimed in. With `max_in_flight`, only
        while the campaign has fewer calls going: the count and the insert happen under one
        per-campaign lock, so any number of dialers together never exceed it. With `caps`, only
        while one more call to `to_number` breaks none of them, counting the calls of every
        campaign of the store, counted and written under the number's lock. `audit` is stored with the attempt, with
        the count of calls to the number added."""
        audit = dict(audit or {})
        with self.db.cursor() as cur:
            if max_in_flight is not None:
                cur.execute("select pg_advisory_xact_lock(%s, %s)", (IN_FLIGHT_LOCK, campaign_id))
                cur.execute(sql.query("attempt_in_flight"), {"campaign_id": campaign_id})
                if cur.fetchone()[0] >= max_in_flight:
                    self.db.rollback()
                    return RecordedAttempt(Written.FULL)
            if caps:
                cur.execute("select pg_advisory_xact_lock(%s, hashtext(%s))", (NUMBER_LOCK, to_number))
                longest = max(cap.per for cap in caps)
                cur.execute(sql.query("attempt_calls_to"), {"to_number": to_number, "since": now - longest})
                calls = cur.fetchone()[0] or []
                reached = cap_reached(caps, calls, now)
                if reached is not None:
                    self.db.rollback()
                    return RecordedAttempt(Written.CAPPED, until=reached[0])
                audit["frequency"] = [{"calls_before": sum(t > now - cap.per for t in calls), "cap": str(cap)}
                                      for cap in caps]
            cur.execute(sql.query("attempt_record"), {
                "campaign_id": campaign_id, "lead_id": lead.id, "cycle": lead.cycle,
                "round": lead.round, "contact_index": lead.contact_index, "contact_count": lead.contact_count,
                "to_number": to_number, "from_number": from_number, "now": now, "audit": Jsonb(audit)})
            new_id, existing_id, claimed = cur.fetchone()
        self.db.commit()
        if new_id is not None:
            return RecordedAttempt(Written.NEW, new_id)
        if claimed and existing_id is not None:
            return RecordedAttempt(Written.EXISTING, existing_id)
        return RecordedAttempt(Written.LEAD_CHANGED)

    def hold_facts(self, campaign_id: int, at: datetime, since: datetime, page: int = 2000):
        """lead_hold_facts for every lead of the campaign, by id, streamed (a server-side cursor)."""
        with self.db.cursor(name="outcall_hold_facts") as cur:
            cur.itersize = page
            cur.execute(sql.query("lead_hold_facts") + " order by l.id",
                        {"campaign_id": campaign_id, "at": at, "since": since})
            cols = None
            for row in cur:
                cols = cols or [d.name for d in cur.description]
                yield dict(zip(cols, row))
        self.db.commit()

    def hold_groups(self, campaign_id: int, at: datetime, since: datetime) -> list[dict[str, Any]]:
        return self._rows("lead_hold_groups", {"campaign_id": campaign_id, "at": at, "since": since})

    def assign_missing_clocks(self, campaign_id: int, page: int = 5000) -> int:
        """Give leads imported before callee clocks existed their clock (from their numbers and
        any timezone / state / postal_code they kept as variables). Returns how many."""
        done, after = 0, 0
        while rows := self._rows("leads_without_clock", {"campaign_id": campaign_id, "after": after, "limit": page}):
            clocks = [_clock_of(r) for r in rows]
            params = {"ids": [r["id"] for r in rows], "zones": [" ".join(k.zones) for k in clocks],
                      "states": [" ".join(k.states) for k in clocks], "sources": [k.source for k in clocks]}
            self._changed("callee_clocks_add", params)
            self._changed("lead_set_clocks", params)
            done, after = done + len(rows), rows[-1]["id"]
        return done

    def callee_clocks(self) -> dict[int, CalleeClock]:
        return {r["id"]: CalleeClock(r["id"], tuple(r["zones"].split()), tuple(r["states"].split()), r["source"])
                for r in self._rows("callee_clocks", {})}

    def calls_from(self, numbers: list[str], since: datetime) -> dict[str, int]:
        """Calls from each of `numbers` since `since` (caller-ID daily caps)."""
        return {r["from_number"]: r["calls"] for r in self._rows("attempt_calls_from",
                                                                  {"numbers": numbers, "since": since})}

    def defer_lead(self, lead_id: int, cycle: int, due_at: datetime, now: datetime) -> None:
        """A claimed lead that must wait (a cap) is due again at `due_at`."""
        self._rows("lead_defer", {"lead_id": lead_id, "cycle": cycle, "due_at": due_at, "now": now})

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
                rows = [OrphanAttempt(**dict(zip(cols, r))) for r in cur.fetchall()]
            yield [(row, _LockedAttempt(conn, row.id)) for row in rows]
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def known_sids(self, sids: list[str]) -> set[str]:
        return {r["call_sid"] for r in self._rows("attempt_sids_known", {"sids": list(sids)})}

    def open_attempts(self, campaign_id: int) -> list[OpenAttempt]:
        return [OpenAttempt(**r) for r in self._rows("attempt_open", {"campaign_id": campaign_id})]

    def release_leads(self, lead_ids: list[int], now: datetime) -> None:
        if lead_ids:
            self._rows("lead_release", {"lead_ids": list(lead_ids), "now": now})

    def release_stale_claims(self, campaign_id: int, before: datetime, now: datetime) -> int:
        return self._changed("lead_release_stale", {"campaign_id": campaign_id, "before": before, "now": now})

    def adopt_early_transcripts(self, campaign_id: int) -> int:
        """Give attempts the transcripts that came in while their call SID was being saved."""
        return self._changed("attempt_adopt_transcripts", {"campaign_id": campaign_id})

    def mark_contact_invalid(self, lead_id: int, position: int, reason: str) -> bool:
        """Never dial this contact again; returns whether the lead has a dialable contact left."""
        rows = self._rows("contact_mark_invalid", {"lead_id": lead_id, "position": position, "reason": reason})
        return bool(rows and rows[0]["has_dialable_contact"])

    def apply_lead_outcome(self, lead_id: int, cycle: int, outcome: CallOutcome, now: datetime) -> None:
        """Move a lead on without a call (its contact cannot be dialed)."""
        self._rows("lead_apply_outcome", self._outcome_params(lead_id, cycle, outcome, now))

    def pace(self, account_sid: str, cps: float, clock, sleep) -> datetime:
        """Wait for this account's next calls-per-second slot and take it (any number of
        dialers on any hosts, one account). Returns the slot as the database's clock placed
        it (UTC); the dialer sends from there: at most LATE after it if it slept, a commit's
        time after it if the slot was due at once.

        The one exception to the injectable clock (DESIGN.md): slots are placed on
        PostgreSQL's clock_timestamp(), read under the account's row lock, so hosts whose
        clocks differ by seconds still share the rate exactly; `clock` is deliberately not read.
        The dialer books the next free slot (one locked read and one write), then sleeps until
        it without holding the lock; a sleep that ends more than LATE after the slot (the host
        was busy) gives the slot up and books another. Cheap enough to call before every retry
        of a create (a 429). This hook's first slot for the account holds COLD more room."""
        first = account_sid not in self._paced_accounts
        late_for = None  # the slot this dialer woke too late for, given up with the next booking
        while True:
            with self.db.cursor() as cur:
                cur.execute(sql.query("pacing_lock"), {"account_sid": account_sid})
                row = cur.fetchone()
                booked_at = monotonic()  # at or after `now` below: never wakes before the slot
                if row is None:  # the account's first send ever: create its row, then lock it
                    cur.execute(sql.query("pacing_ensure"), {"account_sid": account_sid})
                    self.db.commit()
                    continue
                recent, now = list(row[0]), row[1].astimezone(timezone.utc)
                if late_for is not None:
                    recent = pacing.give_up(recent, late_for)
                slot = pacing.next_send_at(recent, now, cps)
                held = pacing.held_until(slot, first)
                cur.execute(sql.query("pacing_record"), {
                    "account_sid": account_sid, "recent_sends": pacing.record_send(recent, held, cps)})
            self.db.commit()
            wait = (slot - now).total_seconds()
            if monotonic() - booked_at < wait:  # else due already (free at once, or a slow commit)
                while (slept := monotonic() - booked_at) < wait:  # a test's sleep may return early
                    sleep(wait - slept)
                if not pacing.on_time(slot, now, slept):
                    late_for = held
                    continue
            self._paced_accounts.add(account_sid)
            return slot

    def _side_conn(self):
        if self._side is None or self._side.closed:
            self._side = self._connect()
        return self._side

    def update_attempt_call(self, attempt_id: int, call_status: str, answered_by=None, duration_s=None,
                            price=None, price_unit=None, ended_at=None, *, read_at: datetime | None = None) -> None:
        """What Twilio says of the call; `read_at`: when its final record was read."""
        self._rows("attempt_update_call", {
            "attempt_id": attempt_id, "call_status": call_status, "answered_by": answered_by,
            "duration_s": duration_s, "price": price, "price_unit": price_unit, "ended_at": ended_at,
            "record_read": read_at is not None, "now": read_at})

    def price_pending(self, campaign_id: int, due_before: datetime, max_checks: int) -> list[PricePending]:
        """Judged calls whose price is still empty and due for another look."""
        rows = self._rows("attempt_price_pending", {"campaign_id": campaign_id, "due_before": due_before,
                                                    "max_checks": max_checks})
        return [PricePending(**r) for r in rows]

    def price_checked(self, attempt_id: int, price, price_unit, now: datetime) -> None:
        self._rows("attempt_price_checked", {"attempt_id": attempt_id, "price": price,
                                             "price_unit": price_unit, "now": now})

    def set_call_variables(self, call_sid: str, variables: dict, now: datetime, *,
                           transcript: str | None = None, recording_url: str | None = None) -> str:
        """Store a post-call report; returns what became of its variables: "used" (merged into
        the call's variables before its attempt is judged), "early" (no attempt has this SID
        yet: kept for it), "late" (the attempt was judged: kept apart and noted) or "empty"
        (every value null: nothing received, nothing stored). Nulls never erase a value
        reported before. A transcript and recording URL are stored on the attempt whether it
        was judged or not (kept by SID until an attempt has it), whatever the variables."""
        values = {k: v for k, v in variables.items() if v is not None}
        media = transcript is not None or recording_url is not None
        if not values and not media:
            return "empty"
        params = {"call_sid": call_sid, "variables": Jsonb(values), "now": now,
                  "transcript": transcript, "recording_url": recording_url}
        with self.db.cursor() as cur:
            cur.execute(sql.query("webhook_variables_lock"), params)
            attempt = cur.fetchone()
            if media:
                if attempt is not None:
                    cur.execute(sql.query("attempt_set_transcript"), {**params, "attempt_id": attempt[0]})
                else:
                    cur.execute(sql.query("webhook_transcript_early"), params)
            if not values:
                kept = "empty"
            elif attempt is not None and attempt[1] is not None:
                cur.execute(sql.query("webhook_variables_late"), {**params, "attempt_id": attempt[0]})
                kept = "late"
            else:
                cur.execute(sql.query("attempt_set_variables"), params)
                kept = "used" if attempt is not None else "early"
        self.db.commit()
        return kept

    def apply_outcome(self, attempt_id: int, cycle: int, outcome: CallOutcome, now: datetime,
                      variables_seen_at: datetime | None | object = NOT_CHECKED) -> bool:
        """Judge an attempt and move its lead on, in one transaction; False if judged already.
        `variables_seen_at`: received_at of the variables the decision was made on (None: none
        had come); if newer ones arrived since, nothing is judged now (False) and the next poll
        decides again."""
        if outcome.action is Action.WAIT:
            return False
        with self.db.cursor() as cur:
            cur.execute(sql.query("attempt_lock_unjudged"), {"attempt_id": attempt_id})
            cur.execute(sql.query("attempt_judge"), {
                "attempt_id": attempt_id, "outcome": outcome.action.value, "reason": outcome.reason,
                "note": outcome.note or None, "goal_met": outcome.goal_met, "now": now,
                "check_variables": variables_seen_at is not NOT_CHECKED,
                "variables_at": None if variables_seen_at is NOT_CHECKED else variables_seen_at})
            row = cur.fetchone()
            if row is not None:
                cur.execute(sql.query("lead_apply_outcome"), self._outcome_params(row[0], cycle, outcome, now))
                if outcome.opted_out:  # with the judgement: the number is never dialed again
                    cur.execute(sql.query("dnc_opt_out"), {"attempt_id": attempt_id, "now": now})
        self.db.commit()
        return row is not None

    def opt_out_late(self, call_sid: str, now: datetime) -> None:
        """The callee of a judged call opted out after all (late post-call variables)."""
        self._changed("dnc_opt_out_late", {"call_sid": call_sid, "now": now})

    @staticmethod
    def _outcome_params(lead_id: int, cycle: int, outcome: CallOutcome, now: datetime) -> dict:
        return {"lead_id": lead_id, "cycle": cycle, "status": outcome.lead_status.value,
                "next_round": outcome.next_round, "next_contact_index": outcome.next_contact_index,
                "due_at": outcome.due_at, "goal_met": outcome.goal_met, "reason": outcome.reason, "now": now}


def _clock_of(row: dict) -> CalleeClock:
    variables = row["variables"] or {}
    place = {k: str(variables[k]).strip() for k in PLACE_COLUMNS if variables.get(k) not in (None, "")}
    clock = callee_clock(row["phone_number"], row["secondaries"], place)
    if not isinstance(clock, CalleeClock):  # a bad value kept as a variable: the numbers decide
        clock = callee_clock(row["phone_number"], row["secondaries"], {})
    return clock


class _LockedAttempt:
    def __init__(self, conn, attempt_id: int):
        self._conn, self.attempt_id = conn, attempt_id

    def lead_still_ours(self, lead_id: int, cycle: int) -> bool:
        """Is the lead still in this attempt's cycle? Locks it until the SID is saved, so a
        person's change waits for the create request instead of racing it."""
        with self._conn.cursor() as cur:
            cur.execute(sql.query("attempt_lead_still_ours"), {"lead_id": lead_id, "cycle": cycle})
            return cur.fetchone() is not None

    def set_sid(self, call_sid: str, call_status: str = CallStatus.QUEUED.value) -> None:
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
                                                         "call_status": CallStatus.FAILED.value})

    def set_audit(self, audit: dict) -> None:
        with self._conn.cursor() as cur:
            cur.execute(sql.query("attempt_set_audit"), {"attempt_id": self.attempt_id, "audit": Jsonb(audit)})

    def drop_unplaced(self, now: datetime) -> None:
        with self._conn.cursor() as cur:
            cur.execute(sql.query("attempt_drop_unplaced"), {"attempt_id": self.attempt_id, "now": now})
