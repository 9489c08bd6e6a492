"""A throw-away PostgreSQL cluster for `make test` and `make run`.

PostgreSQL refuses to run as root, so when we are root the cluster belongs to the
`postgres` system user and lives in a folder that user owns.

    python tools/pgcluster.py start DIR PORT   # initdb if needed, start, create databases
    python tools/pgcluster.py stop DIR
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

DATABASES = ("outcall", "airflow")


def bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    sys.exit("PostgreSQL server binaries not found: apt-get install postgresql")


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(_as_owner(cmd), check=True, capture_output=True, text=True, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(datadir: str, port: int, max_connections: int = 200) -> str:
    """Start the cluster (creating it on first use); return its libpq URL base.

    `max_connections` applies when this call starts the server (not to one already running)."""
    bin_ = bindir()
    os.makedirs(datadir, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
    os.chmod(datadir, 0o700)
    if not os.path.exists(os.path.join(datadir, "PG_VERSION")):
        _run([f"{bin_}/initdb", "-D", datadir, "-U", "postgres", "--auth=trust",
              "--encoding=UTF8", "--locale=C.UTF-8"])
    status = subprocess.run(_as_owner([f"{bin_}/pg_ctl", "-D", datadir, "status"]),
                            capture_output=True, text=True)
    if status.returncode != 0:
        opts = (f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={int(max_connections)} "
                "-c shared_buffers=256MB -c work_mem=64MB -c maintenance_work_mem=256MB")
        _run([f"{bin_}/pg_ctl", "-D", datadir, "-l", f"{datadir}/server.log",
              "-o", opts, "-w", "-t", "60", "start"])
    for db in DATABASES:
        deadline = time.time() + 30
        while True:
            probe = subprocess.run(
                _as_owner([f"{bin_}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                           "-tAc", f"select 1 from pg_database where datname='{db}'"]),
                capture_output=True, text=True)
            if probe.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        if probe.stdout.strip() != "1":
            _run([f"{bin_}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", db])
    return f"postgresql://postgres@127.0.0.1:{port}"


@contextlib.contextmanager
def temporary_cluster(prefix: str = "outcall-pg-", max_connections: int = 200):
    """A cluster in a fresh temporary folder for one test session or benchmark; yields its URL."""
    datadir = tempfile.mkdtemp(prefix=prefix)
    try:
        yield start(datadir, free_port(), max_connections=max_connections)
    finally:
        stop(datadir)
        shutil.rmtree(datadir, ignore_errors=True)


def stop(datadir: str, timeout: int = 60) -> bool:
    """Stop the cluster and wait until it is down; True if it was running.

    Fast mode ends open sessions; if the cluster is still up after `timeout` seconds,
    immediate mode ends it (the next start recovers from the WAL)."""
    if not os.path.exists(os.path.join(datadir, "PG_VERSION")):
        return False
    pg_ctl = f"{bindir()}/pg_ctl"
    if subprocess.run(_as_owner([pg_ctl, "-D", datadir, "status"]), capture_output=True).returncode != 0:
        return False  # not running (a stale postmaster.pid included)
    for mode in ("fast", "immediate"):
        done = subprocess.run(_as_owner([pg_ctl, "-D", datadir, "-m", mode, "-w", "-t", str(timeout), "stop"]),
                              capture_output=True, text=True)
        if done.returncode == 0 or not os.path.exists(os.path.join(datadir, "postmaster.pid")):
            return True
    raise RuntimeError(f"PostgreSQL in {datadir} did not stop: {done.stderr.strip()}")


if __name__ == "__main__":
    action, datadir = sys.argv[1], sys.argv[2]
    if action == "start":
        print(start(datadir, int(sys.argv[3])))
    elif action == "stop":
        if stop(datadir):
            print(f"stopped PostgreSQL ({datadir})")
    else:
        sys.exit(f"unknown action {action!r}: use start or stop")
