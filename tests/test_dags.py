"""The DAG factory as the DAG processor sees it: every campaign file loads; a broken one is
an import error naming its key."""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from outcall_provider import campaign_files

ROOT = Path(__file__).resolve().parents[1]


def dagbag(monkeypatch, campaigns: Path, dag_file: str = ""):
    """The DAG folder as the DAG processor parses it, or one file of it as a task process does."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("OUTCALL_CAMPAIGNS_DIR", str(campaigns))
    return DagBag(dag_folder=str(ROOT / "dags" / dag_file))


def test_every_campaign_file_loads(monkeypatch):
    bag = dagbag(monkeypatch, ROOT / "include" / "campaigns")
    assert bag.import_errors == {}
    dag = bag.dags["campaign_example"]
    assert dag.schedule == timedelta(minutes=10)
    assert dag.max_active_runs == 2 and dag.catchup is False  # a tick's dialer overlaps the next tick's start
    assert dag.is_paused_upon_creation is True
    assert "outcall" in dag.tags and "Renewals assistant" in dag.doc_md
    assert {t.task_id for t in dag.tasks} == {"sync_leads_and_preflight", "dial", "reconcile_calls",
                                              "campaign_results"}


def test_one_dialer_starts_in_the_triggerer_several_start_on_workers(monkeypatch, tmp_path):
    """A tick's first call waits for one worker task (the sync), not four: a single dialer
    starts in the triggerer. A campaign with more lines than one dialer serves gets a dialer
    per 25 lines, started on workers so their first calls go out from several at once."""
    from airflow.serialization.serialized_objects import BaseSerialization, DagSerialization

    example = (ROOT / "include" / "campaigns" / "example.yaml").read_text()
    (tmp_path / "small.yaml").write_text(example.replace("name: example", "name: small"))
    (tmp_path / "big.yaml").write_text(example.replace("name: example", "name: big")
                                       .replace("max_calls_in_parallel: 3", "max_calls_in_parallel: 60"))
    assert "max_calls_in_parallel: 3\n" in example
    bag = dagbag(monkeypatch, tmp_path)
    assert bag.import_errors == {}
    for dag_id in ("campaign_small", "campaign_big"):
        dag = bag.dags[dag_id]
        order = [dag.get_task("sync_leads_and_preflight")]
        while order[-1].downstream_list:
            (after,) = order[-1].downstream_list
            order.append(after)
        assert [t.task_id for t in order] == ["sync_leads_and_preflight", "dial", "reconcile_calls",
                                              "campaign_results"]
        assert all(t.trigger_rule == "all_done" for t in order[2:])  # a failed dialer's calls still settle

    small = DagSerialization.from_dict(DagSerialization.to_dict(bag.dags["campaign_small"])).get_task("dial")
    assert small.start_from_trigger is True
    args = small.start_trigger_args
    assert args.trigger_cls == "outcall_provider.triggers.dial.DialTrigger" and args.next_method == "dialed"
    kwargs = BaseSerialization.deserialize(args.trigger_kwargs)  # as the scheduler stores them
    assert kwargs["run_started"] == "{{ dag_run.start_date.isoformat() }}"
    assert kwargs["campaign_name"] == "small" and kwargs["dag_id"] == "campaign_small"
    assert "run_started" in small.template_fields  # rendered by the triggerer in the run's context

    big = bag.dags["campaign_big"].get_task("dial")
    assert big.start_from_trigger is False
    assert big.expand_input.value == {"dialer": [1, 2, 3]}


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
    campaign_files._parsed.clear()
    assert set(dagbag(monkeypatch, tmp_path, "campaigns.py").dags) == {"campaign_beta"}
    # and reads only its own campaign file: the others' parsing would cost every task start
    assert list(campaign_files._parsed) == [str(tmp_path / "beta.yaml")]
