"""Fixtures of the page/API/webhook tests: one real Airflow API server for the session, with
the plugin loaded, the example campaign and stand-in campaign DAGs.

A second campaign, `other`, keeps its leads in a second database (`connections.db_conn_id:
outcall_db_two`) and its DAG belongs to team `sales` (Airflow's multi-team mode: a DAG bundle
of that team), so a `viewer` without that team may read `example` but not `other`.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from airflow_stack import airflow_stack

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
TWILIO = ("AC0123456789abcdef0123456789abcdef", "test-auth-token", "http://127.0.0.1:9")
ASSISTANT_SECRET = "test-assistant-secret"
SECOND_STORE = "outcall_db_two"
TEAM = "sales"
VIEWER = "viewer"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
TEAM_DAG = """from datetime import datetime
from airflow.sdk import DAG

with DAG("campaign_other", schedule="*/10 * * * *", start_date=datetime(2025, 1, 1), catchup=False):
    pass
"""


@pytest.fixture(scope="session")
def second_store_url(pg_url, monkeypatch_session):
    """A second campaign store: its own database in the test cluster."""
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute("create database outcall_two")
    url = f"{pg_url}/outcall_two"
    monkeypatch_session.setenv(f"AIRFLOW_CONN_{SECOND_STORE.upper()}", url)
    return url


@pytest.fixture(scope="session")
def campaigns_dir(tmp_path_factory):
    import yaml

    folder = tmp_path_factory.mktemp("campaigns")
    for name in ("example.yaml", "example.csv"):
        shutil.copy(ROOT / "include" / "campaigns" / name, folder / name)
    other = yaml.safe_load((folder / "example.yaml").read_text())
    other.update(name="other", connections={"db_conn_id": SECOND_STORE})
    other["assistant"]["post_call_variables"]["score"] = "number"
    (folder / "other.yaml").write_text(yaml.safe_dump(other))
    return folder


@pytest.fixture(scope="session")
def stack(pg_url, second_store_url, campaigns_dir, monkeypatch_session, tmp_path_factory):
    monkeypatch_session.setenv("OUTCALL_CAMPAIGNS_DIR", str(campaigns_dir))
    team_dags = tmp_path_factory.mktemp("team-dags")
    (team_dags / "campaign_other.py").write_text(TEAM_DAG)
    bundles = [{"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
               {"name": TEAM, "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(team_dags)}, "team_name": TEAM}]
    with airflow_stack(pg_url, dags_folder=HERE / "dags", campaigns_dir=campaigns_dir, twilio=TWILIO,
                       connections={"outcall_assistant": f"generic://:{ASSISTANT_SECRET}@",
                                    SECOND_STORE: second_store_url},
                       extra_env={"AIRFLOW__CORE__MULTI_TEAM": "True",
                                  "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"admin:admin,{VIEWER}:viewer",
                                  "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles)}) as s:
        s.airflow("teams", "create", TEAM)
        s.airflow("dags", "reserialize")  # the stand-in DAGs, without a dag-processor
        yield s


@pytest.fixture(scope="session")
def viewer_token(stack):
    """A JWT of `viewer` (role viewer, no team); the API server generated its password."""
    password = json.loads((stack.home / "passwords.json").read_text())[VIEWER]
    return stack.token(VIEWER, password)


@pytest.fixture(scope="session")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="session")
def token(stack):
    return stack.token()


@pytest.fixture
def api(stack, token, hook):
    """An HTTP client logged into Airflow, on an emptied store."""
    with httpx.Client(base_url=f"{stack.url}/outcall", headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as client:
        yield client


@pytest.fixture
def anon(stack):
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def call_sid(n: int) -> str:
    return f"CA{n:032x}"


@pytest.fixture
def example(hook, campaigns_dir):
    """The example campaign with its 200 CSV leads and three calls made through the store's
    own dialing steps: lead 1 reached (goal met, priced), lead 2 busy, lead 3 still ringing."""
    from outcall_provider import clock
    from outcall_provider.campaign_files import find_campaign
    from outcall_provider.rules.outcome import Action, CallOutcome

    with hook.db.cursor() as cur:  # the dialer's table of early variables (tests/conftest.py leaves it)
        cur.execute("truncate outcall_call_variables")
    hook.db.commit()
    now = clock.now()
    campaign = find_campaign("example", campaigns_dir)
    campaign_id = hook.upsert_campaign(campaign, now)
    report = hook.import_leads_csv(campaign_id, str(campaigns_dir / "example.csv"), "US", now, workers=1)
    assert report.imported == 200, report
    leads = hook.claim_due_leads(campaign_id, now, 3)
    attempts = []
    for n, lead in enumerate(leads, start=1):
        attempt_id = hook.record_attempt(campaign_id, lead, lead.phone_number, "+14155550100", now).attempt_id
        with hook.attempt_locked(attempt_id) as placing:  # as a dialer saves the SID
            placing.set_sid(call_sid(n))
        attempts.append(attempt_id)
    hook.update_attempt_call(attempts[0], "completed", answered_by="human", duration_s=95, price=-0.026,
                             price_unit="USD", ended_at=now)
    hook.set_call_variables(call_sid(1), {"appointment_booked": True, "summary": "booked <b>Tuesday</b>"}, now)
    hook.apply_outcome(attempts[0], 1,
                       CallOutcome(Action.COMPLETE, "goal met", goal_met=True), now)
    hook.update_attempt_call(attempts[1], "busy", duration_s=0, ended_at=now)
    hook.apply_outcome(attempts[1], 1, CallOutcome(Action.RETRY, "busy", next_round=2, due_at=now), now)
    hook.update_attempt_call(attempts[2], "ringing")
    return {"campaign_id": campaign_id, "leads": leads, "attempts": attempts, "now": now}


@pytest.fixture
def hook_two(second_store_url):
    """A CampaignHook on the second store, emptied."""
    from outcall_provider.hooks.campaign import CampaignHook

    h = CampaignHook(SECOND_STORE)
    with h.db.cursor() as cur:
        cur.execute("select string_agg(tablename, ', ') from pg_tables where schemaname = 'public' "
                    "and tablename like 'outcall%%' and tablename <> 'outcall_schema_migrations'")
        cur.execute(f"truncate {cur.fetchone()[0]} restart identity cascade")
    h.db.commit()
    yield h
    h.close()


@pytest.fixture
def other(hook_two, campaigns_dir):
    """The `other` campaign (variables as example's plus `score: number`) in the second store:
    200 leads and one ringing call (SID #50)."""
    from outcall_provider import clock
    from outcall_provider.campaign_files import find_campaign

    now = clock.now()
    campaign_id = hook_two.upsert_campaign(find_campaign("other", campaigns_dir), now)
    hook_two.import_leads_csv(campaign_id, str(campaigns_dir / "example.csv"), "US", now, workers=1)
    [lead] = hook_two.claim_due_leads(campaign_id, now, 1)
    attempt_id = hook_two.record_attempt(campaign_id, lead, lead.phone_number, "+14155550100", now).attempt_id
    with hook_two.attempt_locked(attempt_id) as placing:  # as a dialer saves the SID
        placing.set_sid(call_sid(50))
    hook_two.update_attempt_call(attempt_id, "ringing")
    return {"campaign_id": campaign_id, "lead": lead, "attempt_id": attempt_id, "now": now}
