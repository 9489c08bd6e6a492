"""ResultsHook against real PostgreSQL: the campaign store, and a second database as the
warehouse behind an Airflow `postgres` connection. Each export writes what changed since the
last one, once; a missing table is created; an incompatible one is refused, naming its columns."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from outcall_provider import sql
from outcall_provider.campaign_files import load_campaign
from outcall_provider.exceptions import ResultsTableError
from outcall_provider.hooks.results import ResultsHook
from outcall_provider.rules.campaign import ResultsTarget
from outcall_provider.rules.outcome import CallResult, LeadProgress, decide
from outcall_provider.rules.states import LeadStatus

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
FROM = "+14155550100"
TABLE = "crm.outcall_results"


@pytest.fixture
def warehouse(pg_url, monkeypatch):
    """A second database as the warehouse, reached through the Airflow connection `warehouse`."""
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = 'warehouse'").fetchone():
            conn.execute("create database warehouse")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"{pg_url}/warehouse")
    with psycopg.connect(f"{pg_url}/warehouse", autocommit=True) as conn:
        conn.execute("drop schema if exists crm cascade")
        yield conn


@pytest.fixture
def campaign(hook, tmp_path):
    c = load_campaign(ROOT / "include" / "campaigns" / "example.yaml")
    c = dataclasses.replace(c, results=ResultsTarget("warehouse", TABLE))
    cid = hook.upsert_campaign(c, NOW)
    rows = "".join(f"+1415555{i:04d},crm-{i}\n" for i in range(1, 6))
    (tmp_path / "leads.csv").write_text("phone_number,external_id\n" + rows)
    assert hook.import_leads_csv(cid, tmp_path / "leads.csv", None, NOW).imported == 5
    return c


@pytest.fixture
def leads(hook, campaign) -> dict:
    """Every lead claimed for dialing (as a tick's claim step does), by external id."""
    return {r.external_id: r for r in hook.claim_due_leads(hook.campaign_id(campaign.name), NOW, 10)}


@pytest.fixture
def results(campaign):
    h = ResultsHook(campaign)
    yield h
    h.close()


def judge(hook, campaign, lead, result: CallResult, now=NOW) -> None:
    """Dial a claimed lead and judge its call, as the engine does."""
    cid = hook.campaign_id(campaign.name)
    attempt = hook.record_attempt(cid, lead, lead.phone_number, FROM, now).attempt_id
    sid = f"CA{attempt:032d}"
    with hook.attempt_locked(attempt) as placing:
        placing.set_sid(sid)
    if result.variables:
        hook.set_call_variables(sid, result.variables, now)
    hook.update_attempt_call(attempt, result.status, answered_by=result.answered_by, duration_s=42,
                             price="-0.0130", price_unit="USD", ended_at=now)
    outcome = decide(campaign.retry, LeadProgress(lead.round, lead.contact_index, lead.contact_count), result, now)
    assert hook.apply_outcome(attempt, lead.cycle, outcome, now)


def table_rows(conn, table: str, order: str) -> list[dict]:
    cur = conn.execute(f"select xmin::text as row_version, * from {table} order by {order}")
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def store_statuses(hook, campaign) -> dict[str, str]:
    with hook.db.cursor() as cur:
        cur.execute("select external_id, status from outcall_leads where campaign_id = %s",
                    (hook.campaign_id(campaign.name),))
        rows = dict(cur.fetchall())
    hook.db.commit()
    return rows


def test_a_missing_table_is_created_and_gets_one_row_per_lead(hook, campaign, leads, results, warehouse):
    judge(hook, campaign, leads["crm-1"], CallResult("completed", "human", {"appointment_booked": True}, ended_at=NOW))
    counts = results.export("run-1", NOW)
    assert (counts.leads, counts.attempts) == (5, 1)
    leads = table_rows(warehouse, TABLE, "lead_id")
    assert [r["external_id"] for r in leads] == [f"crm-{i}" for i in range(1, 6)]
    assert {r["external_id"]: r["status"] for r in leads} == store_statuses(hook, campaign)
    first = leads[0]
    assert first["campaign"] == "example" and first["phone_number"] == "+14155550001"  # in full, in the warehouse
    assert first["status"] == LeadStatus.COMPLETED.value and first["goal_met"] is True
    assert first["attempts"] == 1 and first["variables"] == {"appointment_booked": True}
    (call,) = table_rows(warehouse, TABLE + "_attempts", "attempt_id")
    assert call["external_id"] == "crm-1" and call["to_number"] == "+14155550001"
    assert call["call_status"] == "completed" and call["answered_by"] == "human" and call["duration_s"] == 42
    assert str(call["price"]) == "-0.01300" and call["price_unit"] == "USD" and call["outcome"] == "goal_met"
    assert "transcript" in call and "recording_url" in call


def test_rerunning_writes_nothing_twice_and_then_only_what_changed(hook, campaign, leads, results, warehouse):
    results.export("run-1", NOW)
    before = table_rows(warehouse, TABLE, "lead_id")
    assert not results.export("run-2", NOW)  # nothing changed: nothing written, no event
    assert table_rows(warehouse, TABLE, "lead_id") == before  # same rows, same row versions: untouched

    judge(hook, campaign, leads["crm-2"], CallResult("busy", ended_at=NOW))
    cid = hook.campaign_id(campaign.name)
    hook.set_lead_status(cid, hook.find_lead(cid, "crm-5"), LeadStatus.COMPLETED.value, NOW)
    counts = results.export("run-3", NOW)
    assert (counts.leads, counts.attempts) == (2, 1)
    assert counts.leads_by_status == {"rescheduled": 1, "completed": 1}
    after = {r["external_id"]: r for r in table_rows(warehouse, TABLE, "lead_id")}
    assert len(after) == 5  # still one row per lead
    assert {k: r["status"] for k, r in after.items()} == store_statuses(hook, campaign)
    untouched = {r["external_id"]: r["row_version"] for r in before if r["external_id"] not in ("crm-2", "crm-5")}
    assert {k: after[k]["row_version"] for k in untouched} == untouched


def test_a_retried_task_writes_nothing_again_and_reports_its_first_try(hook, campaign, leads, results, warehouse):
    judge(hook, campaign, leads["crm-3"], CallResult("no-answer", ended_at=NOW))
    first = results.export("run-1", NOW)
    rows = table_rows(warehouse, TABLE + "_attempts", "attempt_id")
    retried = results.export("run-1", NOW)  # the same DAG run again (its first try failed after writing)
    assert (retried.leads, retried.attempts) == (first.leads, first.attempts) == (5, 1)
    assert table_rows(warehouse, TABLE + "_attempts", "attempt_id") == rows  # not written again


def test_a_failed_export_moves_no_watermark_and_its_retry_leaves_one_row_each(hook, campaign, leads, results,
                                                                             warehouse):
    judge(hook, campaign, leads["crm-1"], CallResult("completed", "human", {"appointment_booked": True}, ended_at=NOW))
    warehouse.execute("create schema crm")
    warehouse.execute(f"create table {TABLE}_attempts (campaign text, attempt_id bigint)")  # lacks most columns
    with pytest.raises(ResultsTableError):
        results.export("run-1", NOW)  # the calls are written first: no lead says a status before them
    assert warehouse.execute(f"select to_regclass('{TABLE}')").fetchone()[0] is None
    warehouse.execute(f"drop table {TABLE}_attempts")
    counts = results.export("run-1", NOW)  # Airflow's retry
    assert (counts.leads, counts.attempts) == (5, 1)
    assert len(table_rows(warehouse, TABLE, "lead_id")) == 5 and len(table_rows(warehouse, TABLE + "_attempts",
                                                                               "attempt_id")) == 1


def test_an_incompatible_table_is_an_error_naming_its_columns(hook, campaign, leads, results, warehouse):
    warehouse.execute("create schema crm")
    warehouse.execute(f"create table {TABLE} (campaign text, lead_id bigint, external_id text, phone_number bigint,"
                      " status text, attempts int, last_outcome text, updated_at timestamptz)")
    with pytest.raises(ResultsTableError) as e:
        results.export("run-1", NOW)
    message = str(e.value)
    assert f"{TABLE}.phone_number is bigint" in message
    assert f"{TABLE}.goal_met is missing" in message and f"{TABLE}.variables is missing" in message
    assert "+1415555" not in message
    assert warehouse.execute(f"select count(*) from {TABLE}").fetchone()[0] == 0
    warehouse.execute(f"drop table {TABLE}")
    assert results.export("run-2", NOW).leads == 5  # nothing was skipped by the failed export


def test_a_table_without_a_key_to_upsert_on_is_a_clear_error(hook, campaign, leads, results, warehouse, capfd):
    warehouse.execute("create schema crm")
    warehouse.execute(f"create table {TABLE} (campaign text, lead_id bigint, external_id text, phone_number text,"
                      " status text, attempts int, last_outcome text, goal_met boolean, variables jsonb,"
                      " updated_at timestamptz)")
    with pytest.raises(ResultsTableError, match=r"primary key or unique index on \(campaign, lead_id\)") as e:
        results.export("run-1", NOW)
    assert "+1415555" not in str(e.value)
    logged = capfd.readouterr()
    assert "+*******0001" in logged.out + logged.err  # the failed write's rows were logged, masked
    assert "+14155550001" not in logged.out + logged.err


def test_a_change_committed_after_an_export_began_is_written_by_the_next(hook, campaign, leads, results, warehouse,
                                                                       pg_url):
    """A writer whose transaction straddles an export, with a timestamp older than the export:
    a time watermark would lose it; the snapshot watermark does not."""
    results.export("run-1", NOW)
    with psycopg.connect(f"{pg_url}/outcall") as slow:
        slow.execute("update outcall_leads set status = 'completed', updated_at = %s where external_id = 'crm-4'",
                     (NOW - timedelta(hours=1),))
        assert not results.export("run-2", NOW)  # not committed yet: not seen
        slow.commit()
    counts = results.export("run-3", NOW)
    assert (counts.leads, counts.attempts) == (1, 0)
    crm4 = [r for r in table_rows(warehouse, TABLE, "lead_id") if r["external_id"] == "crm-4"]
    assert crm4[0]["status"] == "completed"


def test_without_a_results_table_changes_are_counted_for_the_asset_event(hook, campaign, leads):
    no_table = ResultsHook(dataclasses.replace(campaign, results=None))
    try:
        assert no_table.export("run-1", NOW).leads == 5
        assert not no_table.export("run-2", NOW)
        judge(hook, campaign, leads["crm-1"], CallResult("busy", ended_at=NOW))
        counts = no_table.export("run-3", NOW)
        assert (counts.leads, counts.attempts) == (1, 1)
    finally:
        no_table.close()


def test_export_rows_since_a_time(hook, campaign, leads, results):
    later = NOW + timedelta(minutes=30)
    judge(hook, campaign, leads["crm-2"], CallResult("busy", ended_at=later), now=later)
    assert len(list(results.rows("leads"))) == 5
    assert [r["external_id"] for r in results.rows("leads", since=later)] == ["crm-2"]
    (call,) = results.rows("attempts", since=later)
    assert call["to_number"] == "+14155550002" and call["call_status"] == "busy"


def test_each_call_goes_out_with_its_audit_and_an_older_table_gets_the_column(hook, campaign, leads, results,
                                                                               warehouse):
    """Issue 12: the audit of what allowed a call is exported with the results. A table created
    before audits existed gets the column on the next export instead of being refused."""
    warehouse.execute("create schema crm")
    ddl = sql.query("results_create_attempts").format(table=f"{TABLE}_attempts")
    warehouse.execute(ddl.replace("    audit          jsonb,\n", ""))
    cid = hook.campaign_id(campaign.name)
    lead = leads["crm-1"]
    attempt = hook.record_attempt(cid, lead, lead.phone_number, FROM, NOW,
                                  audit={"caller_id": {"number": FROM, "strategy": "local"}}).attempt_id
    with hook.attempt_locked(attempt) as placing:
        placing.set_audit({"local_times": {"America/Los_Angeles": "2026-11-02 07:00:00 PST"}})
        placing.set_sid("CA" + "7" * 32)
    hook.update_attempt_call(attempt, "busy", ended_at=NOW)
    outcome = decide(campaign.retry, LeadProgress(lead.round, lead.contact_index, lead.contact_count),
                     CallResult("busy"), NOW)
    assert hook.apply_outcome(attempt, lead.cycle, outcome, NOW)
    results.export("run-1", NOW)
    [row] = table_rows(warehouse, f"{TABLE}_attempts", "attempt_id")
    assert row["audit"] == {"caller_id": {"number": FROM, "strategy": "local"},
                            "local_times": {"America/Los_Angeles": "2026-11-02 07:00:00 PST"}}

