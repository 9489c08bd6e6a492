"""CampaignHook against a real PostgreSQL: claims, attempts, outcomes, manual status, stats."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from outcall_provider import sql
from outcall_provider.campaign_files import load_campaign
from outcall_provider.hooks.campaign import CampaignHook, Written
from outcall_provider.rules.outcome import CallResult, LeadProgress, decide

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
FROM = "+14155550100"


@pytest.fixture
def campaign(hook):
    return load_campaign(ROOT / "include" / "campaigns" / "example.yaml")


@pytest.fixture
def cid(hook, campaign, tmp_path):
    cid = hook.upsert_campaign(campaign, NOW)
    rows = "".join(f"+1415555{i:04d},{'+1628555%04d' % i if i % 2 else ''},crm-{i}\n" for i in range(1, 11))
    path = tmp_path / "leads.csv"
    path.write_text("phone_number,secondary_phone_1,external_id\n" + rows)
    assert hook.import_leads_csv(cid, path, None, NOW).imported == 10
    return cid


def test_migrate_is_idempotent(hook):
    assert hook.migrate() == []
    with hook.db.cursor() as cur:
        cur.execute("select version from outcall_schema_migrations order by 1")
        assert [r[0] for r in cur.fetchall()] == [version for version, _ in sql.migrations()]
    hook.db.commit()


def test_upsert_campaign_keeps_one_row_per_name(hook, campaign):
    first = hook.upsert_campaign(campaign, NOW)
    assert hook.upsert_campaign(campaign, NOW + timedelta(hours=1)) == first
    row = hook.get_campaign("example")
    assert row["status"] == "draft" and row["spec"]["retry"]["until_goal"] == "appointment_booked"


def test_claims_are_exclusive_across_workers(hook, cid):
    other = CampaignHook()
    try:
        with other.db.cursor() as cur:  # a second worker holds 3 claimed-but-uncommitted leads
            cur.execute("select id from outcall_leads where campaign_id = %s order by id limit 3 for update", (cid,))
            held = {r[0] for r in cur.fetchall()}
            claimed = hook.claim_due_leads(cid, NOW, 5)
            assert len(claimed) == 5 and not held & {r.id for r in claimed}
        other.db.rollback()
    finally:
        other.close()
    rest = hook.claim_due_leads(cid, NOW, 100)
    assert len(rest) == 5  # nobody is claimed twice
    assert hook.claim_due_leads(cid, NOW, 100) == []


def test_only_due_leads_are_claimed(hook, cid):
    assert hook.claim_due_leads(cid, NOW - timedelta(seconds=1), 100) == []


def test_an_attempt_is_recorded_once(hook, cid):
    lead = hook.claim_due_leads(cid, NOW, 1)[0]
    first = hook.record_attempt(cid, lead, lead.phone_number, FROM, NOW)
    assert first.written is Written.NEW and first.attempt_id is not None
    assert hook.record_attempt(cid, lead, lead.phone_number, FROM, NOW).written is not Written.NEW
    with hook.db.cursor() as cur:
        cur.execute("select status from outcall_leads where id = %s", (lead.id,))
        assert cur.fetchone()[0] == "processing"
    hook.db.commit()


def _dial_and_judge(hook, campaign, cid, lead, result, now):
    attempt = hook.record_attempt(cid, lead, lead.phone_number, FROM, now).attempt_id
    with hook.attempt_locked(attempt) as placing:  # as a dialer saves the SID
        placing.set_sid(f"CA{attempt:032d}")
    hook.update_attempt_call(attempt, result.status, answered_by=result.answered_by, ended_at=now)
    progress = LeadProgress(lead.round, lead.contact_index, lead.contact_count)
    outcome = decide(campaign.retry, progress, result, now)
    assert hook.apply_outcome(attempt, lead.cycle, outcome, now)
    assert not hook.apply_outcome(attempt, lead.cycle, outcome, now)  # judged once
    return outcome


def test_outcomes_move_the_lead_through_contacts_and_rounds(hook, campaign, cid):
    lead = next(r for r in hook.claim_due_leads(cid, NOW, 10) if r.external_id == "crm-1")
    _dial_and_judge(hook, campaign, cid, lead, CallResult("no-answer", ended_at=NOW), NOW)
    # the secondary contact is due right away, in the same round
    again = [r for r in hook.claim_due_leads(cid, NOW, 10) if r.id == lead.id][0]
    assert (again.round, again.contact_index) == (1, 1)
    _dial_and_judge(hook, campaign, cid, again, CallResult("busy", ended_at=NOW), NOW)
    # the round is over: due again after interval_minutes, from the primary contact
    assert [r for r in hook.claim_due_leads(cid, NOW + timedelta(minutes=9), 10) if r.id == lead.id] == []
    later = NOW + timedelta(minutes=10)
    third = [r for r in hook.claim_due_leads(cid, later, 10) if r.id == lead.id][0]
    assert (third.round, third.contact_index) == (2, 0)
    _dial_and_judge(hook, campaign, cid, third,
                    CallResult("completed", "human", {"appointment_booked": True}, ended_at=later), later)
    stats = hook.campaign_stats(cid)
    assert stats["leads_by_status"]["completed"] == 1
    assert stats["goal_met"] == 1 and stats["conversion"] == pytest.approx(0.1)
    assert stats["attempts_by_outcome"] == {"no-answer": 1, "busy": 1, "goal_met": 1}


def test_set_back_to_created_calls_again_from_round_one(hook, campaign, cid):
    lead = next(r for r in hook.claim_due_leads(cid, NOW, 10) if r.external_id == "crm-2")
    _dial_and_judge(hook, campaign, cid, lead,
                    CallResult("completed", "human", {"appointment_booked": True}, ended_at=NOW), NOW)
    assert hook.find_lead(cid, "crm-2") == lead.id
    assert hook.set_lead_status(cid, lead.id, "created", NOW) == {"id": lead.id, "status": "created"}
    again = [r for r in hook.claim_due_leads(cid, NOW, 10) if r.id == lead.id][0]
    assert (again.cycle, again.round, again.contact_index) == (2, 1, 0)
    assert hook.record_attempt(cid, again, again.phone_number, FROM, NOW).written is Written.NEW


def test_set_completed_stops_calling(hook, cid):
    lead_id = hook.find_lead(cid, "+14155550003")
    assert hook.set_lead_status(cid, lead_id, "completed", NOW)["status"] == "completed"
    assert "+14155550003" not in {r.phone_number for r in hook.claim_due_leads(cid, NOW, 100)}
    with pytest.raises(ValueError, match="created` or `completed"):
        hook.set_lead_status(cid, lead_id, "processing", NOW)
    assert hook.find_lead(cid, "no-such-lead") is None
    assert hook.set_lead_status(cid, 999_999, "completed", NOW) is None


def test_the_campaign_says_completed_only_once_every_lead_is_terminal(hook, cid, campaign):
    hook.set_campaign_status(cid, "in_progress", NOW)
    leads = [hook.find_lead(cid, f"crm-{i}") for i in range(1, 11)]
    for lead_id in leads[:-1]:
        hook.set_lead_status(cid, lead_id, "completed", NOW)
    assert not hook.say_completed_if_done(cid, NOW)  # one lead is still open
    assert hook.get_campaign(campaign.name)["status"] == "in_progress"
    hook.set_lead_status(cid, leads[-1], "completed", NOW)
    assert hook.say_completed_if_done(cid, NOW)
    assert hook.get_campaign(campaign.name)["status"] == "completed"


def test_a_lead_is_found_by_id_before_external_id(hook, cid):
    by_external_id = hook.find_lead(cid, "crm-3")
    with hook.db.cursor() as cur:  # a lead whose external id looks like another lead's id
        cur.execute("update outcall_leads set external_id = %s where id = %s",
                    (str(by_external_id + 1), by_external_id))
    hook.db.commit()
    assert hook.find_lead(cid, str(by_external_id + 1)) == by_external_id + 1


def test_completing_a_lead_in_flight_keeps_it_completed(hook, campaign, cid):
    lead = next(r for r in hook.claim_due_leads(cid, NOW, 10) if r.external_id == "crm-4")
    attempt = hook.record_attempt(cid, lead, lead.phone_number, FROM, NOW).attempt_id
    hook.set_lead_status(cid, lead.id, "completed", NOW)  # while the call is still ringing
    outcome = decide(campaign.retry, LeadProgress(1, 0, lead.contact_count), CallResult("busy", ended_at=NOW), NOW)
    assert hook.apply_outcome(attempt, lead.cycle, outcome, NOW)  # the attempt keeps its result
    with hook.db.cursor() as cur:
        cur.execute("select status from outcall_leads where id = %s", (lead.id,))
        assert cur.fetchone()[0] == "completed"
    hook.db.commit()


def test_preview_groups_leads_by_reason(hook, cid):
    hook.set_lead_status(cid, hook.find_lead(cid, "crm-1"), "completed", NOW)
    groups = {g["reason"]: g for g in hook.preview(cid, NOW, 3)}
    assert groups["due"]["leads"] == 9 and len(groups["due"]["sample"]) == 3
    assert groups["completed"]["leads"] == 1
    assert {g["reason"] for g in hook.preview(cid, NOW - timedelta(minutes=1))} == {"waiting", "completed"}


def test_a_final_call_status_is_never_moved_back(hook, cid):
    """Point 8: a poll that started before the call ended may answer after a callback."""
    lead = hook.claim_due_leads(cid, NOW, 1)[0]
    attempt = hook.record_attempt(cid, lead, lead.phone_number, FROM, NOW).attempt_id
    with hook.attempt_locked(attempt) as placing:  # as a dialer saves the SID
        placing.set_sid(f"CA{attempt:032d}")
    hook.update_attempt_call(attempt, "completed", answered_by="machine_start", duration_s=20, ended_at=NOW)
    hook.update_attempt_call(attempt, "ringing")
    with hook.db.cursor() as cur:
        cur.execute("select call_status, answered_by from outcall_attempts where id = %s", (attempt,))
        assert cur.fetchone() == ("completed", "machine_start")
    hook.db.commit()


def test_store_sessions_run_in_utc_whatever_the_servers_time_zone(hook, pg_url):
    """Point 2: times read back from a store whose server runs in Asia/Tokyo are UTC."""
    import psycopg

    from outcall_provider.hooks.campaign import CampaignHook

    with psycopg.connect(f"{pg_url}/outcall", autocommit=True) as admin:
        admin.execute("alter database outcall set timezone to 'Asia/Tokyo'")
    try:
        store = CampaignHook()
        with store.db.cursor() as cur:
            cur.execute("select now()")
            assert cur.fetchone()[0].utcoffset() == timedelta(0)
        store.close()
    finally:
        with psycopg.connect(f"{pg_url}/outcall", autocommit=True) as admin:
            admin.execute("alter database outcall reset timezone")


def test_a_transcript_that_came_while_the_sid_was_being_saved_is_adopted(hook, cid):
    """The results webhook saw no attempt with the SID (the dialer had not committed it) and the
    dialer's SID update saw no transcript yet: the next reconcile gives the attempt its transcript."""
    lead = hook.claim_due_leads(cid, NOW, 1)[0]
    attempt = hook.record_attempt(cid, lead, lead.phone_number, FROM, NOW).attempt_id
    sid = f"CA{attempt:032d}"
    with hook.attempt_locked(attempt) as placing:
        placing.set_sid(sid)
        with hook.db.cursor() as cur:  # the webhook, in that instant: no committed attempt has the SID
            cur.execute(sql.query("webhook_transcript_early"), {"call_sid": sid, "transcript": "Ana: hi",
                                                                  "recording_url": None, "now": NOW})
        hook.db.commit()
    with hook.db.cursor() as cur:  # the race is real: neither side gave the attempt the transcript
        cur.execute("select transcript from outcall_attempts where id = %s", (attempt,))
        assert cur.fetchone()[0] is None
    assert hook.adopt_early_transcripts(cid) == 1
    with hook.db.cursor() as cur:
        cur.execute("select transcript from outcall_attempts where id = %s", (attempt,))
        assert cur.fetchone()[0] == "Ana: hi"
    hook.db.commit()
    assert hook.adopt_early_transcripts(cid) == 0  # once


def test_leads_imported_before_callee_clocks_get_theirs_and_are_claimed_again(hook, cid):
    """Leads a store held before migration 012 have no clock, so no claim takes them until the
    sync gives them one: from their numbers, or a `timezone` they kept as a variable."""
    with hook.db.cursor() as cur:
        cur.execute("update outcall_leads set callee_clock_id = null, "
                    "variables = case when external_id = 'crm-2' then '{\"timezone\": \"Pacific/Honolulu\"}' "
                    "else variables end")
        cur.execute("delete from outcall_callee_clocks")
    hook.db.commit()
    assert hook.claim_due_leads(cid, NOW, 100) == []
    assert hook.assign_missing_clocks(cid, page=3) == 10
    assert hook.assign_missing_clocks(cid) == 0
    with hook.db.cursor() as cur:
        cur.execute("select l.external_id, k.zones, k.states from outcall_leads l "
                    "join outcall_callee_clocks k on k.id = l.callee_clock_id order by l.id")
        clocks = {ext: (zones, states) for ext, zones, states in cur.fetchall()}
    hook.db.commit()
    assert len(clocks) == 10
    assert clocks["crm-1"] == ("America/Los_Angeles", "CA")
    assert clocks["crm-2"] == ("Pacific/Honolulu", "CA")
    assert len(hook.claim_due_leads(cid, NOW, 100)) == 10
