"""A real Airflow for tests: a temporary AIRFLOW_HOME, the metadata DB in the test PostgreSQL
cluster, `airflow db migrate`, then `airflow api-server` (and optionally the scheduler and the
dag-processor) on a free port, all stopped (process groups killed) on exit.

    from airflow_stack import airflow_stack

    with airflow_stack(pg_url, campaigns_dir=..., dags_folder=..., scheduler=True) as stack:
        stack.url                      # "http://127.0.0.1:PORT"
        stack.token()                  # a JWT for "Authorization: Bearer ..." (user admin/admin)
        stack.headers()                # {"Authorization": "Bearer ..."}
        stack.airflow("dags", "list")  # run the airflow CLI against this stack (CompletedProcess)
        stack.env                      # the environment every process got (connections, config)

Connections are given as AIRFLOW_CONN_* variables: outcall_db (the `outcall` database of the
cluster) and twilio_default (a sandbox, if `twilio` is given as (account_sid, auth_token,
base_url), with `twilio_extra` added to its extras, e.g. {"calls_per_second": 50}), plus any
in `connections` ({conn_id: URI or JSON}). The simple auth manager has one
user, admin/admin, role admin. `tick_seconds` shortens the scheduler and dag-processor loops
for tests. Logs of every process are in stack.home/logs/*.log.

The executor is LocalExecutor unless told otherwise. `executor="CeleryExecutor"` runs tasks on
`celery_workers` `airflow celery worker` processes (w1@HOST, w2@HOST, ...), through the broker at
`celery_broker_url` (the caller starts it) with the results in the metadata database:

    with airflow_stack(pg_url, scheduler=True, executor="CeleryExecutor", celery_workers=2,
                       celery_broker_url="redis://127.0.0.1:PORT/0") as stack:
        stack.celery_workers           # {"w1@HOST": Popen, "w2@HOST": Popen}

Every worker runs `celery_concurrency` tasks at a time (default 1, so tasks queued together
spread over the workers) and reports its Celery node name as its host: a task instance's
`hostname` says which worker ran it, as it would with one worker per machine.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil
import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin: `airflow` and friends
ADMIN = ("admin", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AirflowStack:
    url: str
    home: Path
    env: dict[str, str]
    db_url: str = ""  # libpq URL of this stack's own metadata database
    processes: list[subprocess.Popen] = field(default_factory=list)
    celery_workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def token(self, username: str = ADMIN[0], password: str = ADMIN[1]) -> str:
        r = httpx.post(f"{self.url}/auth/token", json={"username": username, "password": password}, timeout=30)
        r.raise_for_status()
        return r.json()["access_token"]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "airflow"), *args], env=self.env, capture_output=True,
                              text=True, check=check, timeout=300)


def _env(home: Path, pg_url: str, dags_folder: Path, campaigns_dir: Path | None, port: int,
         twilio: tuple[str, str, str] | None, connections: dict[str, str], tick_seconds: float | None,
         extra_env: dict[str, str], twilio_extra: dict | None = None, db: str = "airflow",
         fernet_key: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({ADMIN[0]: ADMIN[1]}))
    sql_alchemy = _sqlalchemy_url(pg_url, db)
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN[0]}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "outcall-tests-only-jwt-secret-" + "0123456789abcdef" * 3,
        "AIRFLOW__API__SECRET_KEY": "outcall-tests-only-secret-key",
        # one key for every component: without it, each that starts before airflow.cfg is
        # written makes its own, and the triggerer cannot read the scheduler's trigger kwargs
        "AIRFLOW__CORE__FERNET_KEY": fernet_key,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_OUTCALL_DB": f"{pg_url}/outcall",
    })
    if campaigns_dir is not None:
        env["OUTCALL_CAMPAIGNS_DIR"] = str(campaigns_dir)
    if twilio is not None:
        sid, token, base_url = twilio
        env["AIRFLOW_CONN_TWILIO_DEFAULT"] = json.dumps({
            "conn_type": "twilio", "login": sid, "password": token,
            "extra": {"base_url": base_url, "callback_base_url": f"http://127.0.0.1:{port}", **(twilio_extra or {})}})
    for conn_id, value in connections.items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = value
    if tick_seconds is not None:  # test-only: make the loops turn fast
        env.update({
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": str(max(1, int(tick_seconds))),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(max(1, int(tick_seconds))),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(max(1, int(tick_seconds))),
        })
    env.update(extra_env)
    return env


def _start(name: str, args: list[str], env: dict, home: Path) -> subprocess.Popen:
    log = open(home / "logs" / f"{name}.log", "ab")
    # A process group of its own, so stopping it also stops the workers it forked.
    return subprocess.Popen([str(BIN / "airflow"), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


# core.hostname_callable of a test Celery worker. Airflow records on a task instance the host
# its worker reported (by default the machine's FQDN, the same for every worker on one machine);
# each test worker reports its Celery node name instead, the one it was started with.
_WORKER_HOSTNAME_MODULE = '''import os


def hostname() -> str:
    return os.environ["OUTCALL_TEST_WORKER_HOSTNAME"]
'''


def _sqlalchemy_url(pg_url: str, db: str) -> str:
    return pg_url.replace("postgresql://", "postgresql+psycopg://", 1) + f"/{db}"


def _celery_env(pg_url: str, broker_url: str, db: str) -> dict[str, str]:
    sql_alchemy = _sqlalchemy_url(pg_url, db)
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{sql_alchemy}",  # Celery's results in the metadata DB
    }


def _start_celery_workers(stack: AirflowStack, count: int, concurrency: int) -> None:
    """Start `count` Celery workers w1@HOST, w2@HOST, ...; return once every one is ready."""
    module_dir = stack.home / "worker_hostname"
    module_dir.mkdir(exist_ok=True)
    (module_dir / "outcall_test_worker_hostname.py").write_text(_WORKER_HOSTNAME_MODULE)
    host = socket.gethostname()
    for n in range(1, count + 1):
        name = f"w{n}@{host}"
        env = stack.env | {
            "OUTCALL_TEST_WORKER_HOSTNAME": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "outcall_test_worker_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(p for p in (str(module_dir), stack.env.get("PYTHONPATH")) if p),
        }
        # --skip-serve-logs: workers on one machine would all want the log server's port; the
        # task logs are files in this stack's home, where the API server reads them.
        proc = _start(f"celery-worker-w{n}", ["celery", "worker", "--celery-hostname", name,
                                               "--concurrency", str(concurrency), "--skip-serve-logs"],
                      env, stack.home)
        stack.processes.append(proc)
        stack.celery_workers[name] = proc
        # The next worker starts once this one has made Celery's result tables (it prints its
        # banner after): two creating them at once can fail on "relation already exists".
        _wait_worker(name, proc, stack.home / "logs" / f"celery-worker-w{n}.log", f" {name} v", f"{name} ready.")
    for n, (name, proc) in enumerate(stack.celery_workers.items(), 1):
        _wait_worker(name, proc, stack.home / "logs" / f"celery-worker-w{n}.log", f"{name} ready.")


def _wait_worker(name: str, proc: subprocess.Popen, log: Path, *markers: str, timeout: float = 120) -> None:
    """Wait until the worker's log shows one of `markers`; fail with its log's end if it exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker {name} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        text = log.read_text(errors="replace")
        if any(marker in text for marker in markers):
            return
        time.sleep(0.3)
    raise TimeoutError(f"celery worker {name} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # A task's process runs in a process group of its own: stop any the group's signal missed.
    alive = [p for p in descendants if p.is_running()]
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    for p in psutil.wait_procs(alive, timeout=5)[1]:
        with contextlib.suppress(psutil.Error):
            p.kill()


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Wait until the API server at `url` answers its health check; fail with its log's end."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow api-server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"airflow api-server not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def airflow_stack(pg_url: str, *, dags_folder: str | Path = ROOT / "dags", campaigns_dir: str | Path | None = None,
                  twilio: tuple[str, str, str] | None = None, twilio_extra: dict | None = None,
                  connections: dict[str, str] | None = None,
                  scheduler: bool = False, dag_processor: bool = False, triggerer: bool | None = None,
                  tick_seconds: float | None = None,
                  extra_env: dict[str, str] | None = None, keep_home: bool = False,
                  executor: str = "LocalExecutor", celery_workers: int = 0, celery_broker_url: str | None = None,
                  celery_concurrency: int = 1):
    """Yield a running AirflowStack; everything it started is stopped on exit.

    pg_url: libpq URL base of the test cluster (tests/conftest.py `pg_url`); the stack's metadata
    is a copy of its migrated `airflow` database (`stack.db_url`, dropped on exit), and
    `outcall` holds the campaign store.
    executor: "LocalExecutor" (tasks run by the scheduler) or "CeleryExecutor" (tasks run by
    `celery_workers` workers through the broker at `celery_broker_url`).
    """
    if executor not in ("LocalExecutor", "CeleryExecutor"):
        raise ValueError(f"executor {executor!r}: LocalExecutor or CeleryExecutor")
    if executor == "CeleryExecutor" and not celery_broker_url:
        raise ValueError("CeleryExecutor needs celery_broker_url (e.g. redis://127.0.0.1:PORT/0)")
    if celery_workers and executor != "CeleryExecutor":
        raise ValueError("celery_workers need executor='CeleryExecutor'")
    home = Path(tempfile.mkdtemp(prefix="outcall-airflow-stack-"))
    (home / "logs").mkdir()
    Path(dags_folder).mkdir(parents=True, exist_ok=True)
    port = free_port()
    fernet_key = Fernet.generate_key().decode()

    def env_for(db: str) -> dict[str, str]:
        celery = _celery_env(pg_url, celery_broker_url, db) if executor == "CeleryExecutor" else {}
        return _env(home, pg_url, Path(dags_folder), Path(campaigns_dir) if campaigns_dir else None, port,
                    twilio, connections or {}, tick_seconds, celery | (extra_env or {}), twilio_extra, db,
                    fernet_key)

    db = _fresh_metadata_db(pg_url, env_for)
    stack = AirflowStack(url=f"http://127.0.0.1:{port}", home=home, env=env_for(db), db_url=f"{pg_url}/{db}")
    env = stack.env
    try:
        api = _start("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                     env, home)
        stack.processes.append(api)
        if dag_processor:
            stack.processes.append(_start("dag-processor", ["dag-processor"], env, home))
        if scheduler:
            stack.processes.append(_start("scheduler", ["scheduler"], env, home))
        if scheduler if triggerer is None else triggerer:  # idle dialers wait in the triggerer
            stack.processes.append(_start("triggerer", ["triggerer"], env, home))
        if celery_workers:
            _start_celery_workers(stack, celery_workers, celery_concurrency)
        wait_healthy(stack.url, api, home / "logs" / "api-server.log")
        yield stack
    finally:
        for proc in reversed(stack.processes):
            _stop(proc)
        if not keep_home and not os.environ.get("OUTCALL_KEEP_STACKS"):  # kept to read the logs of a failure
            shutil.rmtree(home, ignore_errors=True)
        with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as admin:
            admin.execute(f'drop database if exists "{db}" with (force)')


_MIGRATED: set[str] = set()  # clusters whose template metadata database is migrated


def _fresh_metadata_db(pg_url: str, env_for) -> str:
    """A metadata database of this stack's own, copied from the cluster's migrated `airflow`
    database: no DAG run, task or trigger of an earlier test's stack is picked up by this one."""
    if pg_url not in _MIGRATED:
        done = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env_for("airflow"), capture_output=True,
                              text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        _MIGRATED.add(pg_url)
    db = f"airflow_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as admin:
        admin.execute(f'create database "{db}" template airflow')
    return db


def connection_uri(conn_type: str, password: str, login: str = "", host: str = "") -> str:
    """A connection URI for `connections` (values are quoted)."""
    return f"{conn_type}://{quote(login, safe='')}:{quote(password, safe='')}@{quote(host, safe='')}"
