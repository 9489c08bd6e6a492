"""Kill dialers at random points, against Twilio as it really behaves (slow creates, creates
whose answer is lost after the call was made), with the store's server in a non-UTC zone:
every lead is still called exactly once, and nothing stays `scheduled` or `processing`."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.operators.conftest import campaign_spec

HERE = Path(__file__).resolve().parent
RUNS = 28  # per time zone: at least 50 killed dialers over both


def sidless_attempt(hook) -> bool:
    with hook.db.cursor() as cur:
        cur.execute("select count(*) from outcall_attempts where call_sid is null and judged_at is null")
        n = cur.fetchone()[0]
    hook.db.commit()
    return n > 0


def statuses(hook) -> Counter:
    with hook.db.cursor() as cur:
        cur.execute("select status from outcall_leads")
        rows = Counter(r[0] for r in cur.fetchall())
    hook.db.commit()
    return rows


@pytest.fixture
def server_time_zone(pg_url, request):
    """The store's server in another time zone (every new session starts in it)."""
    with psycopg.connect(f"{pg_url}/outcall", autocommit=True) as admin:
        admin.execute(f"alter database outcall set timezone to '{request.param}'")
    yield request.param
    with psycopg.connect(f"{pg_url}/outcall", autocommit=True) as admin:
        admin.execute("alter database outcall reset timezone")


@pytest.mark.parametrize("server_time_zone", ["Asia/Tokyo", "America/Los_Angeles"], indirect=True)
def test_killed_dialers_never_call_twice(server_time_zone, hook, make_engine, sandbox, tmp_path):
    rng = random.Random(f"20261127-{server_time_zone}")
    numbers = [f"+1415555{i:04d}" for i in range(100, 100 + RUNS)]  # 0xxx: the goal is met
    engine = make_engine("phone_number,external_id\n" + "".join(f"{n},crash{i}\n" for i, n in enumerate(numbers)))
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "example.yaml").write_text(yaml.safe_dump(campaign_spec()))
    env = {**os.environ, "OUTCALL_CAMPAIGNS_DIR": str(folder),
           "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "plugins"), os.environ.get("PYTHONPATH", "")])}
    # Slow creates widen the gap between the attempt row and its SID; a third of the creates
    # make the call and then answer 500 or hang past the dialer's 1 s timeout.
    sandbox.set_faults(latency_ms=250, timeout_seconds=3, seed=rng.randrange(1000),
                       rates={"create_500_after_create": 0.15, "create_timeout_after_create": 0.15})

    kills = 0
    for _ in range(RUNS):
        proc = subprocess.Popen([sys.executable, str(HERE / "dial_one.py"), "example"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 60
        while not sidless_attempt(hook) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.002)
        if proc.poll() is None:
            time.sleep(rng.uniform(0, 1.2))  # in the latency, the hang, or after the SID
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        time.sleep(0.4)  # a create the dialer sent before dying reaches the sandbox
        engine.reconcile()  # binds orphans' calls from Twilio's records, never dials

    assert kills >= 25
    sandbox.set_faults()
    time.sleep(3)  # every hung create has ended; then the orphan grace is taken as passed, so
    engine.orphan_grace = timedelta(0)  # orphans whose call Twilio does not list are due again
    deadline = time.time() + 90
    while statuses(hook)["completed"] < RUNS and time.time() < deadline:
        engine.reconcile()
        engine.dial(engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 10))
        time.sleep(0.05)

    engine.reconcile()
    with hook.db.cursor() as cur:
        cur.execute("select l.status, l.last_outcome, a.call_status, a.answered_by, a.outcome_reason, a.error, "
                    "a.call_sid, a.started_at, a.ended_at, a.judged_at, v.received_at "
                    "from outcall_leads l join outcall_attempts a on a.lead_id = l.id "
                    "left join outcall_call_variables v on v.call_sid = a.call_sid where l.status <> 'completed'")
        unfinished = cur.fetchall()
    hook.db.commit()
    assert statuses(hook) == Counter({"completed": RUNS}), unfinished  # none scheduled or processing
    calls = Counter(c["to"] for c in sandbox.calls())
    assert calls == Counter({n: 1 for n in numbers}), "a person was called twice (or never)"
    with hook.db.cursor() as cur:
        cur.execute("select to_number, count(*), count(call_sid) from outcall_attempts group by 1")
        recorded = {to: (n, with_sid) for to, n, with_sid in cur.fetchall()}
    hook.db.commit()
    assert recorded == {to: (1, 1) for to in numbers}  # each call bound to exactly one attempt
