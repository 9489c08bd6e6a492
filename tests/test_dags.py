"""The DAG factory as the DAG processor sees it: every campaign file loads; a broken one is
an import error naming its key."""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dagbag(monkeypatch, campaigns: Path):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("OUTCALL_CAMPAIGNS_DIR", str(campaigns))
    return DagBag(dag_folder=str(ROOT / "dags"))


def test_every_campaign_file_loads(monkeypatch):
    bag = dagbag(monkeypatch, ROOT / "include" / "campaigns")
    assert bag.import_errors == {}
    dag = bag.dags["campaign_example"]
    assert dag.schedule == timedelta(minutes=10)
    assert dag.max_active_runs == 2 and dag.catchup is False  # a tick's dialer overlaps the next tick's start
    assert dag.is_paused_upon_creation is True
    assert "outcall" in dag.tags and "Renewals assistant" in dag.doc_md
    assert {t.task_id for t in dag.tasks} == {"sync_leads_and_preflight", "reconcile_calls", "claim_batches",
                                              "dial", "campaign_status", "campaign_results"}


def test_a_broken_file_is_an_import_error_naming_its_key(monkeypatch, tmp_path):
    shutil.copy(ROOT / "include" / "campaigns" / "example.yaml", tmp_path / "example.yaml")
    (tmp_path / "broken.yaml").write_text((ROOT / "include" / "campaigns" / "example.yaml").read_text()
                                          .replace("name: example", "name: broken")
                                          .replace("interval_minutes: 10", "interval_minutes: 5"))
    bag = dagbag(monkeypatch, tmp_path)
    assert "campaign_example" in bag.dags  # the valid campaign keeps running
    assert "campaign_broken" not in bag.dags
    (error,) = bag.import_errors.values()
    assert "broken.yaml" in error and "retry.interval_minutes" in error and "10–4320" in error


def test_parsing_touches_no_database(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OUTCALL_DB", "postgresql://nobody@127.0.0.1:1/none")
    bag = dagbag(monkeypatch, ROOT / "include" / "campaigns")
    assert "campaign_example" in bag.dags and bag.import_errors == {}


def test_a_task_process_builds_only_its_own_dag(monkeypatch, tmp_path):
    """With a hundred campaigns, each task start must not build a hundred DAGs: Airflow names
    the DAG a task process parses for, and only that one is built."""
    for name in ("alpha", "beta", "gamma"):
        (tmp_path / f"{name}.yaml").write_text((ROOT / "include" / "campaigns" / "example.yaml").read_text()
                                               .replace("name: example", f"name: {name}"))
    assert set(dagbag(monkeypatch, tmp_path).dags) == {"campaign_alpha", "campaign_beta", "campaign_gamma"}
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "campaign_beta")
    assert set(dagbag(monkeypatch, tmp_path).dags) == {"campaign_beta"}
