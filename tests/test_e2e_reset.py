"""A lead a person resets or adds while the window is open is dialed within 60 s, not at the
next tick, under the real scheduler and triggerer: an idle dialer waits in the triggerer (its
task `deferred`, no worker slot) and wakes when a lead falls due (issue 11, point 6)."""
from __future__ import annotations

import time

import httpx
from airflow_stack import airflow_stack
from test_e2e_campaign import campaign_file, wait_for

from sandbox import Sandbox

TICK_SECONDS = 900  # no second tick during the test: only the waiting dialer can explain a call


def test_a_lead_reset_or_added_by_hand_is_dialed_within_60_s(pg_url, hook, tmp_path, assistant_results):
    folder = tmp_path / "campaigns"
    folder.mkdir()
    campaign_file(folder, "hand", "00:00-23:59", [("+14155550101", ""), ("+14155550102", "")])


    with Sandbox(cps=10, time_scale=60, variables_delay=0.1, on_variables=assistant_results) as sb, \
            airflow_stack(pg_url, campaigns_dir=folder, twilio=(sb.config.account_sid, sb.config.auth_token, sb.url),
                          scheduler=True, dag_processor=True, tick_seconds=2,
                          extra_env={"OUTCALL_TICK_SECONDS": str(TICK_SECONDS)}) as stack:
        api = httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=30)
        wait_for("the DAG to be parsed", lambda: api.get("/api/v2/dags/campaign_hand").status_code == 200, 180)
        api.patch("/api/v2/dags/campaign_hand", json={"is_paused": False}).raise_for_status()

        def calls_to(number: str) -> int:
            return sum(c["to"] == number for c in sb.calls())

        def dial_states() -> list[str]:
            runs = api.get("/api/v2/dags/campaign_hand/dagRuns").json()["dag_runs"]
            return [t["state"] for r in runs for t in api.get(
                f"/api/v2/dags/campaign_hand/dagRuns/{r['dag_run_id']}/taskInstances").json()["task_instances"]
                if t["task_id"] == "dial"]

        wait_for("both leads to be called", lambda: calls_to("+14155550101") and calls_to("+14155550102"), 120)
        wait_for("the campaign to be completed", lambda: (hook.get_campaign("hand") or {}).get("status")
                 == "completed", 120)
        assert wait_for("the idle dialer to wait in the triggerer", lambda: dial_states() == ["deferred"], 60)

        plugin = httpx.Client(base_url=f"{stack.url}/outcall", headers=stack.headers(), timeout=30)
        [lead] = plugin.get("/api/v1/campaigns/hand/leads", params={"q": "hand-0"}).json()["leads"]
        reset_at = time.monotonic()
        r = plugin.patch(f"/api/v1/campaigns/hand/leads/{lead['id']}", json={"status": "created"})
        assert r.status_code == 200, r.text
        wait_for("the reset lead to be called again", lambda: calls_to("+14155550101") == 2, 60, every=0.2)
        assert time.monotonic() - reset_at < 60

        wait_for("the dialer to wait again", lambda: dial_states() == ["deferred"], 90)
        added_at = time.monotonic()
        r = plugin.post("/api/v1/campaigns/hand/leads", json={"phone_number": "+14155550103", "external_id": "new"})
        assert r.status_code == 201, r.text
        wait_for("the added lead to be called", lambda: calls_to("+14155550103") == 1, 60, every=0.2)
        assert time.monotonic() - added_at < 60

        runs = api.get("/api/v2/dags/campaign_hand/dagRuns").json()["dag_runs"]
        assert len(runs) == 1, "all of it within the first tick: no later tick explains these calls"
        assert calls_to("+14155550102") == 1, "nobody else called twice"
