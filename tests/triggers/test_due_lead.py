"""LeadDueTrigger against a real store: it fires when a waiting lead falls due, else at the
tick's end; it survives Airflow's serialize/rebuild round trip."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from outcall_provider.triggers.due_lead import LEAD_DUE, TICK_ENDS, LeadDueTrigger

NOW = datetime.now(timezone.utc)


def first_event(trigger: LeadDueTrigger) -> dict:
    async def run():
        async for event in trigger.run():
            return event.payload
    return asyncio.run(asyncio.wait_for(run(), 30))


def rebuilt(trigger: LeadDueTrigger) -> LeadDueTrigger:
    path, kwargs = trigger.serialize()
    assert path == "outcall_provider.triggers.due_lead.LeadDueTrigger"
    return LeadDueTrigger(**kwargs)


def campaign_with_one_lead(hook, tmp_path, due_at: datetime) -> int:
    with hook.db.cursor() as cur:
        cur.execute("insert into outcall_campaigns (name, spec, created_at, updated_at) "
                    "values ('t', '{}', %s, %s) returning id", (NOW, NOW))
        cid = cur.fetchone()[0]
    hook.db.commit()
    (tmp_path / "l.csv").write_text("phone_number\n+14155550101\n")
    hook.import_leads_csv(cid, tmp_path / "l.csv", None, due_at)
    return cid


def test_it_fires_when_a_waiting_lead_is_due(hook, tmp_path):
    cid = campaign_with_one_lead(hook, tmp_path, NOW - timedelta(seconds=1))
    trigger = rebuilt(LeadDueTrigger(db_conn_id="outcall_db", campaign_id=cid,
                                     deadline=(NOW + timedelta(minutes=5)).isoformat(), poll_seconds=0.2))
    assert first_event(trigger)["reason"] == LEAD_DUE


def test_without_a_due_lead_it_fires_when_the_tick_ends(hook, tmp_path):
    cid = campaign_with_one_lead(hook, tmp_path, NOW + timedelta(hours=1))  # due after the tick
    deadline = datetime.now(timezone.utc) + timedelta(seconds=1)
    trigger = LeadDueTrigger(db_conn_id="outcall_db", campaign_id=cid, deadline=deadline.isoformat(),
                             poll_seconds=0.2)
    assert first_event(trigger) == {"reason": TICK_ENDS}
    assert datetime.now(timezone.utc) >= deadline
