"""Several workers, one Twilio account: a campaign under Airflow's CeleryExecutor with two Celery
workers and a Redis broker started here, dialing the sandbox.

The campaign has more lines than one dialer serves, so its DAG has two dialers, which start on
workers and place their first calls there before waiting in the triggerer; and
Airflow's own records (the task instances' `hostname` and `pid`) show them running on the two
workers at the same time. The campaign completes; pausing its DAG stops new calls; resuming loses
nothing; every number is called exactly once, though two workers dial the one account.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
import yaml
from airflow_stack import airflow_stack, free_port
from test_e2e_campaign import campaign_file, wait_for

from outcall_provider.operators.dial import LINES_PER_DIALER, dialers_for
from sandbox import Sandbox

TICK_SECONDS = 30
MAX_CALLS_IN_PARALLEL = LINES_PER_DIALER + 5   # two dialers


@contextlib.contextmanager
def redis_server():
    """A throw-away redis-server on a free loopback port: no persistence, its files in a temp
    folder; yields its URL and stops it on exit."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: `make install` installs it (Debian package redis-server); "
                    "the Celery end-to-end test needs it as its broker")
    folder = Path(tempfile.mkdtemp(prefix="outcall-redis-"))
    port = free_port()
    log = open(folder / "redis.log", "ab")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             "--save", "", "--appendonly", "no", "--daemonize", "no"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def pong() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({proc.returncode}): {(folder / 'redis.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for("redis-server to answer", pong, 30, every=0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


class DialWatch:
    """Polls Airflow's metadata database for running `dial` task instances and keeps every moment
    two or more ran at once, with the worker each one ran on: the `hostname` Airflow recorded, and
    the worker whose process tree holds the task's recorded `pid`."""

    def __init__(self, airflow_db_url: str, dag_id: str, workers: dict[str, subprocess.Popen]):
        self.url, self.dag_id = airflow_db_url, dag_id
        self.worker_of_pid = {proc.pid: name for name, proc in workers.items()}
        self.together: list[dict] = []   # [{(run_id, map_index): (hostname, worker by pid)}]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dial-watch", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    def _worker_by_pid(self, pid: int | None) -> str | None:
        with contextlib.suppress(psutil.Error):
            for proc in [psutil.Process(pid), *psutil.Process(pid).parents()] if pid else []:
                if proc.pid in self.worker_of_pid:
                    return self.worker_of_pid[proc.pid]
        return None

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as db:
            while not self._stop.wait(0.3):
                rows = db.execute("select run_id, map_index, hostname, pid from task_instance "
                                  "where dag_id = %s and task_id = 'dial' and state = 'running'",
                                  (self.dag_id,)).fetchall()
                if len(rows) >= 2:
                    self.together.append({(run, index): (host, self._worker_by_pid(pid))
                                          for run, index, host, pid in rows})


def test_two_celery_workers_dial_one_campaign(pg_url, hook, tmp_path, assistant_results):
    leads = ([(f"+1415555{i:04d}", "") for i in range(100, 126)]             # answered, goal met
             + [(f"+1415555{i:04d}", "") for i in range(2100, 2102)]         # voicemail: reached
             + [(f"+1415555{i:04d}", "") for i in range(3100, 3102)]         # busy, one round
             + [(f"+1415555{i:04d}", f"+1628555{i - 3000:04d}") for i in range(3102, 3104)])  # secondary
    assert len(leads) > MAX_CALLS_IN_PARALLEL and dialers_for(MAX_CALLS_IN_PARALLEL) == 2
    folder = tmp_path / "campaigns"
    folder.mkdir()
    campaign_file(folder, "celery", "00:00-23:59", leads)
    spec = yaml.safe_load((folder / "celery.yaml").read_text())
    spec["max_calls_in_parallel"] = MAX_CALLS_IN_PARALLEL
    (folder / "celery.yaml").write_text(yaml.safe_dump(spec))


    started = time.time()
    with redis_server() as broker, \
            Sandbox(cps=10, time_scale=60, variables_delay=0.1, on_variables=assistant_results) as sb, \
            airflow_stack(pg_url, campaigns_dir=folder, twilio=(sb.config.account_sid, sb.config.auth_token, sb.url),
                          scheduler=True, dag_processor=True, tick_seconds=2,
                          executor="CeleryExecutor", celery_workers=2, celery_broker_url=broker,
                          extra_env={"OUTCALL_TICK_SECONDS": str(TICK_SECONDS),
                                     "AIRFLOW__CORE__PARALLELISM": "8"}) as stack:
        workers = set(stack.celery_workers)
        assert len(workers) == 2
        assert stack.airflow("config", "get-value", "core", "executor").stdout.strip() == "CeleryExecutor"
        api = httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=30)

        def set_paused(paused: bool) -> None:
            api.patch("/api/v2/dags/campaign_celery", json={"is_paused": paused}).raise_for_status()

        def store_status():
            row = hook.get_campaign("celery")
            return row and row["status"]

        try:
            with DialWatch(stack.db_url, "campaign_celery", stack.celery_workers) as watch:
                wait_for("the DAG to be parsed",
                         lambda: api.get("/api/v2/dags/campaign_celery").status_code == 200, 180)
                assert api.get("/api/v2/dags/campaign_celery").json()["is_paused"] is True

                unpaused_at = time.time()
                set_paused(False)
                wait_for("the first call", sb.calls, 90, every=0.2)
                assert time.time() - unpaused_at < 60, "first call within a minute of unpausing"

                wait_for("two dial tasks running on the two workers at once", lambda: watch.together, 60)
                wait_for("eight calls", lambda: len(sb.calls()) >= 8, 60, every=0.1)
                set_paused(True)
                paused_at = datetime.now(timezone.utc)
                wait_for("the store to say paused", lambda: store_status() == "paused", 30)
                time.sleep(8)
                late = [c for c in sb.calls()
                        if datetime.fromisoformat(c["created_at"]) > paused_at + timedelta(seconds=5)]
                assert late == [], "no new call once the DAG is paused"
                called_while_paused = len(sb.calls())
                assert called_while_paused < len(leads)

                resumed_at = time.time()
                set_paused(False)
                wait_for("a call after resuming", lambda: len(sb.calls()) > called_while_paused, 60, every=0.2)
                assert time.time() - resumed_at < 60
                wait_for("the campaign to complete", lambda: store_status() == "completed", 150, every=1)

            # Airflow's records: two dial tasks of this campaign's one run, each running on its own
            # worker at the same moment, by the host Airflow recorded and by the process tree
            moments = [m for m in watch.together
                       if len({run for run, _ in m}) == 1
                       and {host for host, _ in m.values()} == workers
                       and all(host == by_pid for host, by_pid in m.values())]
            assert moments, f"no moment with one run's dial tasks on both workers: {watch.together[:5]}"

            (run_id, _), *_ = moments[0]
            seen = {index: host for (_, index), (host, _) in moments[0].items()}

            def dial_results() -> dict:
                """The run's dial tasks' results, once each has handed over to the next tick."""
                with psycopg.connect(stack.db_url) as db:
                    rows = db.execute("select map_index, value from xcom where dag_id = 'campaign_celery' "
                                      "and task_id = 'dial' and run_id = %s and key = 'return_value'",
                                      (run_id,)).fetchall()
                results = {index: json.loads(v) if isinstance(v, str) else v for index, v in rows}
                return results if set(seen) <= set(results) else {}

            placed = wait_for("the run's dialers to end and report", dial_results, 2 * TICK_SECONDS + 30)
            assert set(seen.values()) == workers, seen
            for index in seen:
                assert placed[index]["placed"] > 0, f"dial task {index} ran on {seen[index]} but placed no call"
            print(f"{run_id}: dial tasks running at once {moments[0]}; calls placed "
                  f"{ {index: placed[index]['placed'] for index in seen} }; {len(moments)} such moments seen")

            calls = Counter(c["to"] for c in sb.calls())
            expected = {p: 1 for p, _ in leads} | {s: 1 for _, s in leads if s}
            assert calls == expected, "every number called exactly once, none lost"
            stats = hook.campaign_stats(hook.get_campaign("celery")["id"])
            assert stats["leads_by_status"]["completed"] == 30 and stats["leads_by_status"]["max_retries"] == 2
            assert stats["goal_met"] == 28
        except BaseException:
            for log in sorted((stack.home / "logs").glob("*.log")):  # shown by pytest on failure
                print(f"==== {log.name}\n{log.read_text(errors='replace')[-4000:]}")
            raise
    elapsed = time.time() - started
    print(f"celery e2e: {elapsed:.0f} s")
    assert elapsed < 240, f"the Celery end-to-end test took {elapsed:.0f} s; it must stay under 4 minutes"
