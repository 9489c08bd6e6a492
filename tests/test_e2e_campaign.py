"""Campaigns under the real Airflow scheduler, DAG processor and API server, dialing the sandbox.

One campaign runs to `completed`; pausing its DAG mid-way stops new calls; resuming finishes
it with nothing lost and nobody called twice. A campaign outside its calling window dials
nothing, and its reconciliation still runs.
"""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import yaml
from airflow_stack import airflow_stack

from sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
TICK_SECONDS = 30


def campaign_file(folder: Path, name: str, hours: str, numbers: list[tuple[str, str]]) -> None:
    spec = yaml.safe_load((ROOT / "include" / "campaigns" / "example.yaml").read_text())
    spec.update(name=name, max_calls_in_parallel=3, leads={"csv": f"{name}.csv"})
    spec["schedule"] = {"hours": hours, "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    spec["assistant"]["timezone"] = "UTC"
    spec["retry"] = {"max_attempts": 1, "interval_minutes": 10, "on_voicemail": False,
                     "until_goal": "appointment_booked"}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    rows = "".join(f"{p},{s},{name}-{i}\n" for i, (p, s) in enumerate(numbers))
    (folder / f"{name}.csv").write_text("phone_number,secondary_phone_1,external_id\n" + rows)


def wait_for(what: str, predicate, timeout: float, every: float = 0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_campaigns_run_under_the_real_scheduler(pg_url, hook, tmp_path, assistant_results):
    numbers = ([(f"+1415555{i:04d}", "") for i in range(100, 112)]            # answered, goal met
               + [(f"+1415555{i:04d}", "") for i in range(2100, 2102)]        # voicemail: reached
               + [(f"+1415555{i:04d}", "") for i in range(3100, 3102)]        # busy, one round
               + [(f"+1415555{i:04d}", f"+1628555{i - 3000:04d}") for i in range(3102, 3104)])  # secondary
    now = datetime.now(timezone.utc)
    closed = f"{(now + timedelta(hours=3)):%H}:00-{(now + timedelta(hours=4)):%H}:00"
    folder = tmp_path / "campaigns"
    folder.mkdir()
    campaign_file(folder, "e2e", "00:00-23:59", numbers)
    campaign_file(folder, "closed", closed, [(f"+1646555{i:04d}", "") for i in range(100, 103)])


    with Sandbox(cps=10, time_scale=60, variables_delay=0.1, on_variables=assistant_results) as sb, \
            airflow_stack(pg_url, campaigns_dir=folder, twilio=(sb.config.account_sid, sb.config.auth_token, sb.url),
                          scheduler=True, dag_processor=True, tick_seconds=2,
                          extra_env={"OUTCALL_TICK_SECONDS": str(TICK_SECONDS),
                                     "AIRFLOW__CORE__PARALLELISM": "8"}) as stack:
        api = httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=30)

        def set_paused(dag_id: str, paused: bool) -> None:
            api.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": paused}).raise_for_status()

        def e2e_calls() -> list[dict]:
            return [c for c in sb.calls() if not c["to"].startswith("+1646")]

        def store_status(name: str):
            row = hook.get_campaign(name)
            return row and row["status"]

        wait_for("the DAGs to be parsed", lambda: all(
            api.get(f"/api/v2/dags/{d}").status_code == 200 for d in ("campaign_e2e", "campaign_closed")), 180)
        assert api.get("/api/v2/dags/campaign_e2e").json()["is_paused"] is True  # a new campaign is a draft

        unpaused_at = time.time()
        set_paused("campaign_e2e", False)
        set_paused("campaign_closed", False)
        wait_for("the first call", lambda: e2e_calls(), 90, every=0.2)
        first_call_s = time.time() - unpaused_at
        assert first_call_s < 60, f"first call {first_call_s:.0f} s after unpausing"

        wait_for("six calls", lambda: len(e2e_calls()) >= 6, 120, every=0.1)
        set_paused("campaign_e2e", True)
        paused_at = datetime.now(timezone.utc)
        wait_for("the store to say paused", lambda: store_status("e2e") == "paused", 30)
        time.sleep(8)
        late = [c for c in e2e_calls()
                if datetime.fromisoformat(c["created_at"]) > paused_at + timedelta(seconds=5)]
        assert late == [], "no new call once the DAG is paused"
        called_while_paused = len(e2e_calls())
        assert called_while_paused < 20

        resumed_at = time.time()
        set_paused("campaign_e2e", False)
        wait_for("a call after resuming", lambda: len(e2e_calls()) > called_while_paused, 60, every=0.2)
        assert time.time() - resumed_at < 60
        wait_for("the campaign to complete", lambda: store_status("e2e") == "completed", 240, every=1)

        calls = Counter(c["to"] for c in e2e_calls())
        expected = {p: 1 for p, _ in numbers} | {s: 1 for _, s in numbers if s}
        assert calls == expected, "every number called exactly once, none lost"
        stats = hook.campaign_stats(hook.get_campaign("e2e")["id"])
        assert stats["leads_by_status"]["completed"] == 16 and stats["leads_by_status"]["max_retries"] == 2
        assert stats["goal_met"] == 14 and stats["cost"] > 0  # prices recorded despite status callbacks

        # outside its window: nothing dialed, yet every tick reconciles
        assert not [c for c in sb.calls() if c["to"].startswith("+1646")]
        runs = wait_for("a finished run of the closed campaign", lambda: [
            r for r in api.get("/api/v2/dags/campaign_closed/dagRuns").json()["dag_runs"]
            if r["state"] == "success"], 120)
        tis = {t["task_id"]: t["state"] for t in api.get(
            f"/api/v2/dags/campaign_closed/dagRuns/{runs[0]['dag_run_id']}/taskInstances").json()["task_instances"]}
        assert tis["sync_leads_and_preflight"] == "success" and tis["reconcile_calls"] == "success"
        assert tis["dial"] == "skipped"
        assert store_status("closed") == "in_progress"
