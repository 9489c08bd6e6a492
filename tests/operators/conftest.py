"""Fixtures for the call engine: the sandbox as Twilio, spoken to by the real twilio client."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from outcall_provider.campaign_files import load_campaign
from outcall_provider.rules.campaign import parse_campaign_dict

ROOT = Path(__file__).resolve().parents[2]


class OffsetClock:
    """Real time plus an offset we can move forward (retry intervals are 10+ minutes)."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, minutes: float) -> None:
        self.offset += timedelta(minutes=minutes)


@pytest.fixture
def sandbox(assistant_results):
    from sandbox import Sandbox

    with Sandbox(cps=50, time_scale=600, variables_delay=0.05, late_variables=1.5,
                 on_variables=assistant_results) as sb:
        os.environ["AIRFLOW_CONN_TWILIO_DEFAULT"] = json.dumps({
            "conn_type": "twilio", "login": sb.config.account_sid, "password": sb.config.auth_token,
            "extra": {"base_url": sb.url, "calls_per_second": 50, "http_timeout": 1}})
        yield sb
    os.environ.pop("AIRFLOW_CONN_TWILIO_DEFAULT", None)


def campaign_spec(**retry) -> dict:
    spec = load_campaign(ROOT / "include" / "campaigns" / "example.yaml").to_dict()
    spec["retry"] = {"max_attempts": 2, "interval_minutes": 10, "on_voicemail": False,
                     "until_goal": "appointment_booked", **retry}
    spec["leads"] = None
    return spec


@pytest.fixture
def make_engine(hook, sandbox, tmp_path):
    """engine(csv_text, **retry) → a CallEngine over a fresh campaign with those leads."""
    from outcall_provider.engine import ORPHAN_GRACE, CallEngine
    from outcall_provider.hooks.twilio import TwilioHook

    engines = []

    def make(csv_text: str, clock=None, orphan_grace=None, name: str = "example", **retry):
        campaign = parse_campaign_dict({**campaign_spec(**retry), "name": name}, str(tmp_path / f"{name}.yaml"))
        clock = clock or OffsetClock()
        now = clock()  # the leads are imported on the engine's clock, so they are due on it
        cid = hook.upsert_campaign(campaign, now)
        path = tmp_path / f"leads{len(engines)}.csv"
        path.write_text(csv_text)
        hook.import_leads_csv(cid, path, "US", now - timedelta(seconds=1))
        engine = CallEngine(hook, TwilioHook(), campaign, cid, clock=clock,
                            poll_interval=0.05, variables_grace=timedelta(seconds=2),
                            orphan_grace=orphan_grace or ORPHAN_GRACE, price_recheck=timedelta(seconds=1))
        engines.append(engine)
        return engine

    return make


def settle(engine, done, timeout: float = 20.0):
    """Reconcile until `done()` holds (calls in the sandbox last a fraction of a second)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        engine.reconcile()
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("the campaign did not settle in time")


def lead_row(hook, external_id: str) -> dict:
    with hook.db.cursor() as cur:
        cur.execute("select id, status, round, contact_index, goal_met, last_outcome, cycle "
                    "from outcall_leads where external_id = %s", (external_id,))
        row = dict(zip(["id", "status", "round", "contact_index", "goal_met", "last_outcome", "cycle"],
                       cur.fetchone()))
    hook.db.commit()
    return row


def attempts(hook, external_id: str) -> list[dict]:
    with hook.db.cursor() as cur:
        cur.execute("select a.round, a.contact_index, a.to_number, a.call_status, a.answered_by, a.outcome, "
                    "a.outcome_reason, a.call_sid, a.duration_s, a.price, a.variables, a.cycle "
                    "from outcall_attempts a join outcall_leads l on l.id = a.lead_id "
                    "where l.external_id = %s order by a.id", (external_id,))
        cols = [d.name for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    hook.db.commit()
    return rows
