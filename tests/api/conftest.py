"""Fixtures of the page/API/webhook tests: one real Airflow API server for the session, with
the plugin loaded, the example campaign and stand-in campaign DAGs."""
from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from airflow_stack import airflow_stack

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
TWILIO = ("AC0123456789abcdef0123456789abcdef", "test-auth-token", "http://127.0.0.1:9")
ASSISTANT_SECRET = "test-assistant-secret"


@pytest.fixture(scope="session")
def campaigns_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("campaigns")
    for name in ("example.yaml", "example.csv"):
        shutil.copy(ROOT / "include" / "campaigns" / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def stack(pg_url, campaigns_dir, monkeypatch_session):
    monkeypatch_session.setenv("OUTCALL_CAMPAIGNS_DIR", str(campaigns_dir))
    with airflow_stack(pg_url, dags_folder=HERE / "dags", campaigns_dir=campaigns_dir, twilio=TWILIO,
                       connections={"outcall_assistant": f"generic://:{ASSISTANT_SECRET}@"}) as s:
        s.airflow("dags", "reserialize")  # the stand-in DAGs, without a dag-processor
        yield s


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
        attempt_id = hook.record_attempt(campaign_id, lead, lead["phone_number"], "+14155550100", now)
        hook.set_attempt_sid(attempt_id, call_sid(n))
        attempts.append(attempt_id)
    hook.update_attempt_call(attempts[0], "completed", "human", 95, -0.026, "USD", now)
    hook.set_call_variables(call_sid(1), {"appointment_booked": True, "summary": "booked <b>Tuesday</b>"}, now)
    hook.apply_outcome(attempts[0], 1, CallOutcome(Action.COMPLETE, "goal met", goal_met=True, reached_person=True), now)
    hook.update_attempt_call(attempts[1], "busy", None, 0, None, None, now)
    hook.apply_outcome(attempts[1], 1, CallOutcome(Action.RETRY, "busy", next_round=2, due_at=now), now)
    hook.update_attempt_call(attempts[2], "ringing")
    return {"campaign_id": campaign_id, "leads": leads, "attempts": attempts, "now": now}
