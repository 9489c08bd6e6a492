"""`make run` and `make stop` as a user runs them, on free ports and a run folder of their own
(OUTCALL_RUN_DIR), so that they cannot meet a stack someone else runs from this project.

One stack for the module, in this order: it starts quietly; a second `make run` refuses; the
README's command lines work in a new terminal; `make stop` during a dial stops everything and
fails no task; the next `make run` runs the stopped task again, and Ctrl-C stops it. The tests
depend on that order (pytest keeps the file's order).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psycopg
import pytest
from airflow_stack import free_port

import pgcluster

ROOT = Path(__file__).resolve().parents[1]
MARK = "OUTCALL_TEST_STACK"  # every process of a stack started here has it in its environment
# The shared venv is installed already: `make` must not reinstall it (pyproject.toml may be newer).
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed"]


def _processes_marked(marker: str) -> list[int]:
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if f"{MARK}={marker}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
    return found


def _kill_marked(marker: str) -> None:
    for pid in _processes_marked(marker):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie only waits to be reaped


def _session_pids(sid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(stat.parent.name))
    return pids


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _ps(sessions: list[int]) -> str:
    """The processes of these sessions, for failure messages."""
    lines = subprocess.run(["ps", "-e", "-o", "pid,ppid,pgid,sid,stat,args"], capture_output=True,
                           text=True).stdout.splitlines()
    return "\n".join(line[:160] for line in lines[1:] if int(line.split()[3]) in sessions)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    def __init__(self):
        self.run_dir = Path(tempfile.mkdtemp(prefix="outcall-make-run-"))
        self.run_dir.chmod(0o755)  # PostgreSQL runs as `postgres` and must reach run_dir/pg
        self.ports = {"OUTCALL_PG_PORT": free_port(), "OUTCALL_SANDBOX_PORT": free_port(), "AIRFLOW_PORT": free_port()}
        self.url = f"http://localhost:{self.ports['AIRFLOW_PORT']}"
        self.markers = [uuid.uuid4().hex]
        self.log = self.run_dir.parent / f"{self.run_dir.name}.log"
        self.proc: subprocess.Popen | None = None
        self.stopped_tries: dict[tuple[str, int], int] = {}

    def env(self, marker: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OUTCALL", "PYTEST"))}
        env.update({k: str(v) for k, v in self.ports.items()})
        env.update(OUTCALL_RUN_DIR=str(self.run_dir), **{MARK: marker or self.markers[0]})
        return env

    def make(self, target: str, marker: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*MAKE, target], cwd=ROOT, env=self.env(marker), capture_output=True, text=True,
                              timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def token(self) -> str:
        r = httpx.post(f"{self.url}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30)
        r.raise_for_status()
        return r.json()["access_token"]

    def metadata(self):
        return psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.ports['OUTCALL_PG_PORT']}/airflow",
                               autocommit=True)

    def task_states(self) -> dict[tuple[str, int], str]:
        with self.metadata() as db:
            rows = db.execute("select task_id, map_index, state from task_instance "
                              "where dag_id = 'campaign_example'").fetchall()
        return {(t, m): s for t, m, s in rows}

    def running_tries(self) -> dict[tuple[str, int], tuple[int, str]]:
        """The try number and state of each task instance running, or deferred (a dialer in the
        triggerer)."""
        with self.metadata() as db:
            rows = db.execute("select task_id, map_index, try_number, state from task_instance "
                              "where dag_id = 'campaign_example' and state in ('running', 'deferred')").fetchall()
        return {(t, m): (n, state) for t, m, n, state in rows}

    def wait_for(self, what: str, check, timeout: float):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"make run ended ({self.proc.returncode}) while waiting for {what}:\n"
                            + self.output()[-4000:])
            with contextlib.suppress(httpx.HTTPError, psycopg.Error, OSError):
                if value := check():
                    return value
            time.sleep(1)
        pytest.fail(f"no {what} after {timeout} s; make run said:\n" + self.output()[-4000:])


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    try:
        with open(s.log, "wb") as log:
            s.proc = subprocess.Popen([*MAKE, "run"], cwd=ROOT, env=s.env(), stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        s.wait_for("API server answering",
                   lambda: httpx.get(f"{s.url}/api/v2/monitor/health", timeout=2).status_code == 200, timeout=300)
        # Airflow standalone says so once the scheduler, dag-processor and triggerer heartbeat.
        s.wait_for("'Airflow is ready'", lambda: "Airflow is ready" in s.output(), timeout=120)
        yield s
    finally:
        for marker in s.markers:
            _kill_marked(marker)
        with contextlib.suppress(Exception):
            pgcluster.stop(str(s.run_dir / "pg"))
        if s.proc is not None:
            with contextlib.suppress(Exception):
                s.proc.wait(timeout=30)
        shutil.rmtree(s.run_dir, ignore_errors=True)
        s.log.unlink(missing_ok=True)


def test_make_run_starts_without_plugin_warnings_and_registers_the_plugin_once(stack):
    out = stack.output()
    assert "outcall is starting." in out
    assert "already registered" not in out, \
        "make run printed " + "; ".join(line for line in out.splitlines() if "already registered" in line)
    for lazy in ("True", "False"):  # provider discovery lazy (the default) or not: one plugin either way
        r = subprocess.run(["bash", "-c", f"source {stack.run_dir}/env && airflow plugins -o json"],
                           env={**stack.env(), "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": lazy},
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        names = [p["name"] for p in json.loads(r.stdout)]
        assert names.count("outcall") == 1, f"lazy_discover_providers={lazy}: plugins {names}"
        assert "already registered" not in r.stdout + r.stderr, r.stderr


def test_a_second_make_run_refuses_and_names_the_running_stack(stack):
    pid_files = {f: (stack.run_dir / f).read_text() for f in ("airflow.pid", "sandbox.pid")}
    second = uuid.uuid4().hex
    stack.markers.append(second)
    try:
        r = stack.make("run", marker=second, timeout=90)
    except subprocess.TimeoutExpired as e:
        _kill_marked(second)
        pytest.fail(f"a second make run did not refuse; it started another stack:\n{e.output}")
    out = r.stdout + r.stderr
    assert r.returncode != 0, f"a second make run exited 0:\n{out}"
    assert f"outcall is already running at {stack.url} (make stop to stop it)" in out, out
    assert "outcall is starting" not in out and not _processes_marked(second), out
    assert {f: (stack.run_dir / f).read_text() for f in pid_files} == pid_files, "the pid files were overwritten"
    assert httpx.get(f"{stack.url}/api/v2/monitor/health", timeout=10).status_code == 200


def _readme_cli() -> tuple[str, list[str]]:
    """The README's `source` line and the command lines of its 'Command line' section."""
    section = (ROOT / "README.md").read_text().split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    source = re.search(r"`(source \.run/env)`", section)
    assert source, "the README's Command line section should say to `source .run/env`"
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    return source.group(1), [line for line in lines if line]


def test_the_readmes_command_lines_work_in_a_new_terminal(stack):
    source, lines = _readme_cli()
    source = source.replace(".run/env", f"{stack.run_dir}/env")  # this test's run folder
    assert any(line.startswith("outcall status") for line in lines) and any("--at" in line for line in lines)
    export = ROOT / "example_leads.csv"
    existed = export.exists()
    # A new terminal: a login shell with nothing of this test's environment.
    clean = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/local/bin:/usr/bin:/bin", "TERM": "dumb"}
    try:
        for line in lines:
            r = subprocess.run(["env", "-i", *[f"{k}={v}" for k, v in clean.items()],
                                "bash", "-lc", f"{source} && {line}"],
                               cwd=ROOT, capture_output=True, text=True, timeout=180)
            assert r.returncode == 0 and "Traceback" not in r.stderr, \
                f"`{line}` failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
            assert not [x for x in r.stderr.splitlines() if x.startswith("error:")], f"`{line}`:\n{r.stderr}"
            if line.startswith("outcall status"):
                assert "campaign example" in r.stdout and "200 leads" in r.stdout, r.stdout
        if any("> example_leads.csv" in line for line in lines):
            assert len(export.read_text().splitlines()) == 201, "the export should hold a header and 200 leads"
    finally:
        if not existed:
            export.unlink(missing_ok=True)


def test_make_stop_during_a_dial_stops_everything_and_fails_no_task(stack):
    r = httpx.patch(f"{stack.url}/api/v2/dags/campaign_example", json={"is_paused": False},
                    headers={"Authorization": f"Bearer {stack.token()}"}, timeout=30)
    assert r.status_code == 200, r.text
    stack.wait_for("dial task dialing", lambda: any(  # in a worker, then in the triggerer
        t == "dial" and s in ("running", "deferred") for (t, _), s in stack.task_states().items()), timeout=150)
    time.sleep(3)  # calls under way
    stack.stopped_tries = stack.running_tries()

    sessions = [int((stack.run_dir / f).read_text()) for f in ("airflow.pid", "sandbox.pid")]
    pids = [pid for sid in sessions for pid in _session_pids(sid)]
    pids.append(int((stack.run_dir / "pg" / "postmaster.pid").read_text().split()[0]))
    task_runners = [pid for pid in pids if pid not in sessions and _pgid(pid) == pid]
    running = any(state == "running" for _, state in stack.stopped_tries.values())
    assert task_runners or not running, "a running task's runner should be its own process group"

    before = _ps(sessions)
    started = time.time()
    r = stack.make("stop", timeout=180)
    out = r.stdout + r.stderr
    left = [pid for pid in pids if _alive(pid)] + [pid for sid in sessions for pid in _session_pids(sid)]
    assert not left, f"processes left after make stop: {left}\n{out}\nbefore the stop:\n{before}\nnow:\n{_ps(sessions)}"
    stack.proc.wait(timeout=60)  # make run ends with its stack
    marked = [pid for pid in _processes_marked(stack.markers[0]) if _alive(pid)]
    assert not marked, "processes of the stack left: " + "; ".join(
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120] for pid in marked)
    for name, port in stack.ports.items():
        assert not _port_open(port), f"port {port} ({name}) still answers after make stop"
    assert r.returncode == 0, out
    assert time.time() - started < 120, f"make stop took {time.time() - started:.0f} s"
    for said in ("running task",) * running + ("stopped Airflow", "stopped the sandbox", "stopped PostgreSQL"):
        assert said in out, f"make stop should say {said!r}:\n{out}"
    assert "No such process" not in out, out

    again = stack.make("stop")
    assert again.returncode == 0 and "outcall is not running" in again.stdout, again.stdout + again.stderr

    # What the stop left in the metadata DB and the task logs: no task failed by it.
    pgcluster.start(str(stack.run_dir / "pg"), stack.ports["OUTCALL_PG_PORT"])
    try:
        states = stack.task_states()
        with stack.metadata() as db:
            runs = db.execute("select state from dag_run where dag_id = 'campaign_example'").fetchall()
    finally:
        pgcluster.stop(str(stack.run_dir / "pg"))
    failed = {k: s for k, s in states.items() if s in ("failed", "up_for_retry", "upstream_failed")}
    assert not failed, f"task instances failed by the stop: {failed}"
    assert [s for (t, _), s in states.items() if t == "dial"], states
    assert all(s == "running" for (s,) in runs), f"dag runs after the stop: {runs}"
    logs = [p for p in (stack.run_dir / "airflow" / "logs").rglob("*") if p.is_file()]
    shutdown = [str(p) for p in logs if "AdminShutdown" in p.read_text(errors="replace")]
    assert not shutdown, f"the database went away under a task: {shutdown}"


def test_the_next_make_run_runs_the_stopped_tasks_again(stack):
    """What `make stop` tells the user: the scheduler resets the tasks it stopped and runs them again."""
    assert stack.stopped_tries, "the stop test should have stopped a dial (running or deferred)"
    restarted = datetime.now(timezone.utc)
    with open(stack.log, "ab") as log:
        stack.proc = subprocess.Popen([*MAKE, "run"], cwd=ROOT, env=stack.env(), stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def run_again():
        with stack.metadata() as db:
            rows = db.execute("select task_id, map_index, state, try_number from task_instance "
                              "where dag_id = 'campaign_example'").fetchall()
            # deferred dialers whose trigger the new triggerer took up
            resumed = set(db.execute(
                "select ti.task_id, ti.map_index from task_instance ti join trigger t on t.id = ti.trigger_id "
                "join job j on j.id = t.triggerer_id where ti.dag_id = 'campaign_example' and j.start_date > %s",
                (restarted,)).fetchall())
        now = {(t, m): (state, n) for t, m, state, n in rows}
        if any(now[k][0] in ("failed", "up_for_retry") for k in stack.stopped_tries):
            pytest.fail(f"a stopped task failed when it ran again: {now}")
        # a task stopped while running runs again (a new try); a dialer stopped while deferred
        # goes on in the new triggerer (same try) and ends with its tick
        return all(now[k][1] > n and now[k][0] in ("running", "success") if state == "running"
                   else now[k][0] == "success" or (now[k][0] == "deferred" and k in resumed)
                   for k, (n, state) in stack.stopped_tries.items())

    stack.wait_for("the stopped tasks running again", run_again, timeout=240)
    assert not {k: s for k, s in stack.task_states().items() if s in ("failed", "up_for_retry")}, \
        stack.task_states()

    # Ctrl-C in the terminal of `make run` stops it all too (run.sh's trap runs tools/stop.sh).
    os.killpg(stack.proc.pid, signal.SIGINT)
    deadline = time.time() + 150
    while _processes_marked(stack.markers[0]) and time.time() < deadline:
        time.sleep(1)
    left = [pid for pid in _processes_marked(stack.markers[0]) if _alive(pid)]
    assert not left, f"Ctrl-C left processes {left}:\n" + stack.output()[-3000:]
    for name, port in stack.ports.items():
        assert not _port_open(port), f"port {port} ({name}) still answers after Ctrl-C"
    assert "stopped Airflow" in stack.output() and "stopped PostgreSQL" in stack.output(), stack.output()[-3000:]


def test_make_stop_finds_what_a_killed_make_run_left(tmp_path):
    """A `make run` killed with its Airflow leader leaves a session without a leader, with a task
    runner in a process group of its own; and a pid file may name a process long gone."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    # Two children: one in the leader's process group, one in its own (`set -m`), like a task runner.
    leader = subprocess.Popen(["bash", "-c", "sleep 600 & set -m; sleep 600 & wait"], start_new_session=True)
    deadline = time.time() + 10

    def ready(children: list[int]) -> bool:  # the second child is seen before bash moves it to its own group
        return len(children) == 2 and any(_pgid(p) == p for p in children)

    while not ready(children := [p for p in _session_pids(leader.pid) if p != leader.pid]) and time.time() < deadline:
        time.sleep(0.1)
    assert ready(children), children
    leader.kill()
    leader.wait()
    (run_dir / "airflow.pid").write_text(f"{leader.pid}\n")
    gone = subprocess.Popen(["true"])
    gone.wait()
    (run_dir / "sandbox.pid").write_text(f"{gone.pid}\n")

    env = {**os.environ, "OUTCALL_RUN_DIR": str(run_dir)}
    try:
        r = subprocess.run(["make", "--no-print-directory", "stop"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    finally:
        left = [p for p in children if _alive(p)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "stopped 1 running task(s)" in out and "stopped Airflow (1 process)" in out, out
    assert "No such process" not in out and "sandbox" not in out, out
    assert not left, f"left running: {left}\n{out}"
    assert not (run_dir / "airflow.pid").exists() and not (run_dir / "sandbox.pid").exists()
