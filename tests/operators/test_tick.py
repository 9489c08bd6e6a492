"""The tick's operators run in-process against the store and the sandbox: lead sync from a
CSV or a warehouse query, preflight, a dialer's start inside and outside the window."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import yaml
from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred

from outcall_provider.operators.dial import DialLeadsOperator
from outcall_provider.operators.tick import PreflightError, SyncCampaignOperator
from outcall_provider.triggers.dial import DialTrigger
from tests.operators.conftest import campaign_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def campaigns(tmp_path, monkeypatch):
    folder = tmp_path / "campaigns"
    folder.mkdir()
    monkeypatch.setenv("OUTCALL_CAMPAIGNS_DIR", str(folder))
    return folder


def write_campaign(folder: Path, **changes) -> None:
    spec = campaign_spec()
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            spec[section][field] = value
        else:
            spec[section] = value
    (folder / "example.yaml").write_text(yaml.safe_dump(spec))


def import_reports(hook) -> int:
    with hook.db.cursor() as cur:
        cur.execute("select count(*) from outcall_import_reports")
        n = cur.fetchone()[0]
    hook.db.commit()
    return n


def test_csv_leads_sync_once_per_change_and_preflight_passes(hook, sandbox, campaigns):
    (campaigns / "leads.csv").write_text("phone_number,external_id\n+14155550101,a\n+14155550102,b\n")
    write_campaign(campaigns, leads={"csv": "leads.csv"})
    sync = SyncCampaignOperator(task_id="sync", campaign_name="example")
    assert sync.execute({}) == "in_progress"
    assert hook.campaign_stats(hook.campaign_id("example"))["leads"] == 2
    sync.execute({})
    assert import_reports(hook) == 1  # the file did not change: not imported again
    (campaigns / "leads.csv").write_text("phone_number,external_id\n+14155550101,a\n+14155550109,b\n+14155550103,c\n")
    sync.execute({})
    stats = hook.campaign_stats(hook.campaign_id("example"))
    assert stats["leads"] == 3 and import_reports(hook) == 2


def test_sql_leads_are_streamed_from_any_dbapi_connection(hook, sandbox, campaigns, pg_url, monkeypatch):
    with psycopg.connect(f"{pg_url}/outcall", autocommit=True) as conn:
        conn.execute("drop table if exists crm_leads")
        conn.execute("create table crm_leads (phone text, crm_id text, first_name text)")
        conn.execute("insert into crm_leads values ('(415) 555-0101', 'c1', 'Ana'), ('+14155550102', 'c2', null),"
                     " ('nope', 'c3', 'Eva')")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f"{pg_url}/outcall")
    sql = "select phone as phone_number, crm_id as external_id, first_name from crm_leads order by crm_id"
    write_campaign(campaigns, leads={"sql": sql, "conn_id": "warehouse", "default_region": "US"})
    SyncCampaignOperator(task_id="sync", campaign_name="example").execute({})
    cid = hook.campaign_id("example")
    with hook.db.cursor() as cur:
        cur.execute("select external_id, phone_number, variables from outcall_leads where campaign_id = %s "
                    "order by external_id", (cid,))
        rows = cur.fetchall()
    hook.db.commit()
    assert rows == [("c1", "+14155550101", {"first_name": "Ana"}), ("c2", "+14155550102", {"first_name": ""})]
    with psycopg.connect(f"{pg_url}/outcall", autocommit=True) as conn:
        conn.execute("update crm_leads set first_name = 'Bia' where crm_id = 'c2'")
    SyncCampaignOperator(task_id="sync", campaign_name="example").execute({})
    with hook.db.cursor() as cur:
        cur.execute("select count(*), max(variables->>'first_name') filter (where external_id = 'c2') "
                    "from outcall_leads where campaign_id = %s", (cid,))
        assert cur.fetchone() == (2, "Bia")
    hook.db.commit()


def test_preflight_names_every_problem_at_once(hook, sandbox, campaigns):
    (campaigns / "leads.csv").write_text("phone_number\n")
    write_campaign(campaigns, leads={"csv": "leads.csv"}, assistant__phone_number="+14155550199")
    with pytest.raises(PreflightError) as error:
        SyncCampaignOperator(task_id="sync", campaign_name="example", min_balance=1000).execute({})
    message = str(error.value)
    assert "+*******0199 does not belong to the Twilio account" in message and "+14155550199" not in message
    assert "below the floor of 1000.00" in message
    assert "the campaign has no leads" in message


def lead_id(hook, phone: str) -> int:
    with hook.db.cursor() as cur:
        cur.execute("select id from outcall_leads where phone_number = %s", (phone,))
        (found,) = cur.fetchone()
    hook.db.commit()
    return found


def test_some_leads_without_a_dialable_number_are_a_warning_not_a_stop(hook, sandbox, campaigns, capfd):
    (campaigns / "leads.csv").write_text("phone_number,external_id\n+14155550101,a\n+14155550102,b\n")
    write_campaign(campaigns, leads={"csv": "leads.csv"})
    sync = SyncCampaignOperator(task_id="sync", campaign_name="example")
    assert sync.execute({}) == "in_progress"
    # Twilio refused a's number on an earlier call; the leads file then grows by one lead
    assert not hook.mark_contact_invalid(lead_id(hook, "+14155550101"), 0, "Twilio 21211: invalid 'To'")
    (campaigns / "leads.csv").write_text(
        "phone_number,external_id\n+14155550101,a\n+14155550102,b\n+14155550103,c\n")
    capfd.readouterr()
    assert sync.execute({}) == "in_progress"
    out = "".join(capfd.readouterr())
    (line,) = [x for x in out.splitlines() if "have no dialable phone number" in x]
    assert "warning" in line.lower() and "1 of 3 leads have no dialable phone number" in line, out
    assert "preflight passed" in out
    claimed = {lead.id for lead in hook.claim_due_leads(hook.campaign_id("example"), datetime.now(timezone.utc), 10)}
    assert {lead_id(hook, "+14155550102"), lead_id(hook, "+14155550103")} <= claimed  # the others are dialed


def test_no_lead_with_a_dialable_number_stops_the_campaign(hook, sandbox, campaigns):
    (campaigns / "leads.csv").write_text("phone_number,external_id\n+14155550101,a\n")
    write_campaign(campaigns, leads={"csv": "leads.csv"})
    sync = SyncCampaignOperator(task_id="sync", campaign_name="example")
    sync.execute({})
    hook.mark_contact_invalid(lead_id(hook, "+14155550101"), 0, "Twilio 21211: invalid 'To'")
    (campaigns / "leads.csv").write_text("phone_number,external_id,first_name\n+14155550101,a,Ana\n")
    with pytest.raises(PreflightError) as error:
        sync.execute({})
    message = str(error.value)
    assert "none of the campaign's 1 leads has a dialable phone number" in message
    assert "does not belong" not in message and "below the floor" not in message


def dialer(tick_seconds: float, **kwargs) -> DialLeadsOperator:
    """The dial task as its DAG builds it, its run started now."""
    return DialLeadsOperator(task_id="dial", campaign_name="example", tick_seconds=tick_seconds,
                             run_started=datetime.now(timezone.utc).isoformat(), **kwargs)


def test_a_dialer_outside_the_window_dials_nothing_says_when_it_opens_and_is_skipped(hook, sandbox, campaigns):
    (campaigns / "leads.csv").write_text("phone_number\n+14155550101\n")
    write_campaign(campaigns, leads={"csv": "leads.csv"}, schedule={"hours": "00:00-00:01", "days": ["mon"]},
                   assistant__timezone="Pacific/Kiritimati")
    SyncCampaignOperator(task_id="sync", campaign_name="example").execute({})
    for deferrable in (True, False):
        with pytest.raises(AirflowSkipException, match=(
                r"^no call placed this tick: outside the calling window \(00:00-00:01 Pacific/Kiritimati, mon\): "
                r"closed now; it next opens Mon \d{4}-\d{2}-\d{2} 00:00 Pacific/Kiritimati \(10:00 UTC\)$")):
            dialer(60, deferrable=deferrable).execute({})
    assert sandbox.calls() == [] and hook.in_flight(hook.campaign_id("example")) == 0


def test_a_dialer_defers_to_wait_for_a_window_opening_in_its_time(hook, sandbox, campaigns):
    """The window opens in 2 to 3 minutes: a dialer that may dial that long (its tick and two
    more while the next tick is late) waits for it in the triggerer; a shorter one is skipped."""
    now = datetime.now(timezone.utc)
    hours = f"{now + timedelta(minutes=3):%H:%M}-{now + timedelta(minutes=30):%H:%M}"
    (campaigns / "leads.csv").write_text("phone_number\n+14155550101\n")
    write_campaign(campaigns, leads={"csv": "leads.csv"}, assistant__timezone="UTC",
                   schedule={"hours": hours, "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]})
    SyncCampaignOperator(task_id="sync", campaign_name="example").execute({})
    with pytest.raises(TaskDeferred) as deferred:
        dialer(600).execute({})
    assert isinstance(deferred.value.trigger, DialTrigger) and deferred.value.method_name == "dialed"
    assert deferred.value.trigger.tick_seconds == 600
    with pytest.raises(AirflowSkipException):
        dialer(20).execute({})
    assert sandbox.calls() == []


def run_trigger(trigger: DialTrigger):
    """The trigger's one event, as the triggerer would take it."""
    import asyncio

    async def first():
        async for event in trigger.run():
            return event

    return asyncio.run(first())


def test_the_dial_trigger_ends_the_task_itself(hook, sandbox, campaigns, monkeypatch):
    """No worker start at the end of a tick: the trigger ends its task, with the tick's dial
    report as the task's result, skipped (nothing placed, window closed), or failed."""
    from airflow.triggers.base import TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent

    from tests.api.test_dialer_wakeups import SlowAnswers

    api = SlowAnswers(delay=0)  # the API server says the DAG is not paused
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "a-test-secret-of-sufficient-length-0123456789")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"{api.url}/execution/")

    def trigger(campaign_name: str = "example") -> DialTrigger:
        return DialTrigger(campaign_name=campaign_name, dag_id=f"campaign_{campaign_name}", tick_seconds=1,
                           run_started=datetime.now(timezone.utc).isoformat())

    try:
        (campaigns / "leads.csv").write_text("phone_number\n+14155550101\n")
        write_campaign(campaigns, leads={"csv": "leads.csv"}, schedule={"hours": "00:00-23:59", "days": [
            "mon", "tue", "wed", "thu", "fri", "sat", "sun"]}, assistant__timezone="UTC")
        SyncCampaignOperator(task_id="sync", campaign_name="example").execute({})
        event = run_trigger(trigger())
        assert isinstance(event, TaskSuccessEvent), event
        assert event.xcoms["return_value"]["placed"] == 1
        assert [c["to"] for c in sandbox.calls()] == ["+14155550101"]

        write_campaign(campaigns, leads={"csv": "leads.csv"}, schedule={"hours": "00:00-00:01", "days": ["mon"]},
                       assistant__timezone="Pacific/Kiritimati")
        assert isinstance(run_trigger(trigger()), TaskSkippedEvent)

        assert isinstance(run_trigger(trigger("no_such_campaign")), TaskFailedEvent)
        assert len(sandbox.calls()) == 1
    finally:
        api.close()


def test_preflight_says_a_balance_not_reported_and_goes_on(hook, campaigns, monkeypatch, capfd):
    """A subaccount's Balance answers {"balance": null} (the real twilio client, the sandbox's
    `balance=None`): the preflight says so and passes, the floor is not checked."""
    import json

    from sandbox import Sandbox

    with Sandbox(cps=50, time_scale=600, balance=None) as sb:
        monkeypatch.setenv("AIRFLOW_CONN_TWILIO_DEFAULT", json.dumps({
            "conn_type": "twilio", "login": sb.config.account_sid, "password": sb.config.auth_token,
            "extra": {"base_url": sb.url}}))
        (campaigns / "leads.csv").write_text("phone_number,external_id\n+14155550101,a\n")
        write_campaign(campaigns, leads={"csv": "leads.csv"})
        capfd.readouterr()
        assert SyncCampaignOperator(task_id="sync", campaign_name="example", min_balance=1000).execute({}) \
            == "in_progress"
    out = "".join(capfd.readouterr())
    assert ("the balance is not reported for this account (a subaccount's balance is its parent's); "
            "the floor is not checked") in out
    assert "preflight passed" in out and "balance not reported" in out
