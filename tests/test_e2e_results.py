"""Results back to the warehouse and the results asset, under the real scheduler: a campaign
whose file names `results:` on a second database writes one row per lead there, ending with
each lead's final status, and a DAG scheduled on the campaign's asset runs after its ticks."""
from __future__ import annotations

import shutil

import httpx
import psycopg
import yaml
from airflow_stack import airflow_stack
from test_e2e_campaign import ROOT, wait_for

from sandbox import Sandbox

TICK_SECONDS = 20
TABLE = "crm.outcall_results"
CONSUMER = '''from datetime import datetime

from airflow.sdk import DAG, task

from outcall_provider.operators.results import results_asset

with DAG("crm_refresh", schedule=[results_asset("results_e2e")], start_date=datetime(2024, 1, 1), catchup=False):
    @task
    def refresh(triggering_asset_events=None):
        for event in triggering_asset_events[results_asset("results_e2e")]:
            print("results changed:", event.extra)

    refresh()
'''


def test_results_reach_the_warehouse_and_the_asset_schedules_a_dag(pg_url, hook, tmp_path, assistant_results):
    numbers = ["+14155550101", "+14155550102", "+14155552101", "+14155553101"]  # goal met ×2, voicemail, busy
    folder = tmp_path / "campaigns"
    folder.mkdir()
    spec = yaml.safe_load((ROOT / "include" / "campaigns" / "example.yaml").read_text())
    spec.update(name="results_e2e", max_calls_in_parallel=2, leads={"csv": "results_e2e.csv"},
                results={"conn_id": "warehouse", "table": TABLE})
    spec["schedule"] = {"hours": "00:00-23:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    spec["assistant"]["timezone"] = "UTC"
    spec["retry"] = {"max_attempts": 1, "interval_minutes": 10, "until_goal": "appointment_booked"}
    (folder / "results_e2e.yaml").write_text(yaml.safe_dump(spec))
    (folder / "results_e2e.csv").write_text(
        "phone_number,external_id\n" + "".join(f"{p},r-{i}\n" for i, p in enumerate(numbers)))
    dags = tmp_path / "dags"
    shutil.copytree(ROOT / "dags", dags)
    (dags / "crm_refresh.py").write_text(CONSUMER)

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:  # the warehouse: a second database
        if not conn.execute("select 1 from pg_database where datname = 'warehouse'").fetchone():
            conn.execute("create database warehouse")
    warehouse = psycopg.connect(f"{pg_url}/warehouse", autocommit=True)
    warehouse.execute("drop schema if exists crm cascade")


    def store_statuses() -> dict[str, str]:
        with hook.db.cursor() as cur:
            cur.execute("select external_id, status from outcall_leads")
            rows = dict(cur.fetchall())
        hook.db.commit()
        return rows

    def warehouse_rows() -> list[tuple]:
        exists = warehouse.execute("select to_regclass(%s)", (TABLE,)).fetchone()[0]
        return warehouse.execute(f"select external_id, status from {TABLE} order by external_id").fetchall() \
            if exists else []

    with Sandbox(cps=10, time_scale=60, variables_delay=0.1, on_variables=assistant_results) as sb, \
            airflow_stack(pg_url, dags_folder=dags, campaigns_dir=folder,
                          twilio=(sb.config.account_sid, sb.config.auth_token, sb.url),
                          connections={"warehouse": f"{pg_url}/warehouse"},
                          scheduler=True, dag_processor=True, tick_seconds=2,
                          extra_env={"OUTCALL_TICK_SECONDS": str(TICK_SECONDS)}) as stack:
        api = httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=30)
        wait_for("the DAGs to be parsed", lambda: all(
            api.get(f"/api/v2/dags/{d}").status_code == 200 for d in ("campaign_results_e2e", "crm_refresh")), 180)
        api.patch("/api/v2/dags/crm_refresh", json={"is_paused": False}).raise_for_status()
        api.patch("/api/v2/dags/campaign_results_e2e", json={"is_paused": False}).raise_for_status()

        wait_for("the campaign to complete", lambda: (hook.get_campaign("results_e2e") or {}).get("status")
                 == "completed", 240, every=1)
        final = store_statuses()
        assert set(final.values()) <= {"completed", "max_retries"}
        # the tick that completed the campaign writes the final statuses after it
        wait_for("the final statuses in the warehouse", lambda: dict(warehouse_rows()) == final, 120, every=1)
        rows = warehouse_rows()
        assert len(rows) == len(numbers) == len({r[0] for r in rows})  # exactly one row per lead
        phones = dict(warehouse.execute(f"select external_id, phone_number from {TABLE}").fetchall())
        assert phones == {f"r-{i}": p for i, p in enumerate(numbers)}
        calls = warehouse.execute(f"select count(*) from {TABLE}_attempts").fetchone()[0]
        assert calls == len(numbers)  # one judged call each (max_attempts 1, no secondary contacts)

        runs = wait_for("the DAG scheduled on the results asset to run", lambda: [
            r for r in api.get("/api/v2/dags/crm_refresh/dagRuns").json()["dag_runs"] if r["state"] == "success"],
            120, every=1)
        assert runs[0]["run_type"] == "asset_triggered"

        def every_call_counted() -> list[dict] | None:
            events = api.get("/api/v2/assets/events", params={"source_dag_id": "campaign_results_e2e"}).json()
            extras = [e["extra"] for e in events["asset_events"]]
            return extras if sum(e["calls_changed"] for e in extras) >= len(numbers) else None
        # the event of the tick that wrote the last calls is recorded once its task has ended
        extras = wait_for("events counting every judged call", every_call_counted, 60)
        assert all(e["leads_changed"] + e["calls_changed"] > 0 for e in extras)
        assert all(e["table"] == TABLE and e["campaign"] == "results_e2e" for e in extras)

        # a tick with nothing new writes nothing and emits no event: its results step is skipped
        def results_states() -> list[str]:
            states = []
            for run in api.get("/api/v2/dags/campaign_results_e2e/dagRuns").json()["dag_runs"]:
                ti = api.get(f"/api/v2/dags/campaign_results_e2e/dagRuns/{run['dag_run_id']}"
                             "/taskInstances/campaign_results")
                states.append(ti.json()["state"] if ti.status_code == 200 else None)
            return states
        wait_for("a tick that changed nothing", lambda: "skipped" in results_states(), 120, every=2)

        def settled():  # the events and the task states read at one moment (no tick ended in between)
            states = results_states()
            total = api.get("/api/v2/assets/events", params={"source_dag_id": "campaign_results_e2e"}).json()
            return (states, total["total_entries"]) if results_states() == states else None
        states, events = wait_for("a quiet moment between ticks", settled, 60)
        assert events == states.count("success")  # one event per tick with news, none for the skipped

        log_has_phone = any("+14155550101" in p.read_text(errors="replace")
                            for p in (stack.home / "logs").rglob("*") if p.is_file())
        assert not log_has_phone, "a full phone number reached an Airflow log"
    warehouse.close()
