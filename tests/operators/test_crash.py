"""Kill the dialer between writing an attempt and saving its SID, again and again: every lead
is still called exactly once per attempt, and nothing stays stuck in `processing`."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from tests.operators.conftest import campaign_spec

HERE = Path(__file__).resolve().parent
RUNS = 24


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


def test_killed_dialers_never_call_twice(hook, make_engine, sandbox, tmp_path):
    rng = random.Random(20261125)
    rows = "".join(f"+1415555{i:04d},crash{i}\n" for i in range(100, 100 + RUNS))  # 0xxx: goal met
    engine = make_engine("phone_number,external_id\n" + rows)
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "example.yaml").write_text(yaml.safe_dump(campaign_spec()))
    env = {**os.environ, "OUTCALL_CAMPAIGNS_DIR": str(folder),
           "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "plugins"), os.environ.get("PYTHONPATH", "")])}
    sandbox.set_faults(latency_ms=250)  # widen the gap between writing the attempt and the SID

    kills = 0
    for _ in range(RUNS):
        proc = subprocess.Popen([sys.executable, str(HERE / "dial_one.py"), "example"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 60
        while not sidless_attempt(hook) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.002)
        if proc.poll() is None:
            time.sleep(rng.uniform(0, 0.3))  # somewhere between the attempt row and the SID
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        time.sleep(0.3)  # a request the dialer sent before dying reaches the sandbox
        engine.reconcile()  # resolves the orphan from Twilio's records, never by dialing
        assert statuses(hook)["processing"] <= 3, "orphans must not stay in processing"

    assert kills >= 20
    sandbox.set_faults()
    deadline = time.time() + 60
    while statuses(hook)["completed"] < RUNS and time.time() < deadline:
        engine.dial(engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 10))
        engine.reconcile()
        time.sleep(0.05)

    assert statuses(hook) == Counter({"completed": RUNS})
    calls = Counter(c["to"] for c in sandbox.calls())
    with hook.db.cursor() as cur:
        cur.execute("select to_number, count(*), count(call_sid) from outcall_attempts group by 1")
        recorded = {to: (n, with_sid) for to, n, with_sid in cur.fetchall()}
    hook.db.commit()
    # every lead answered with its goal met, so each was called exactly once, and each call
    # is bound to exactly one attempt
    assert calls == Counter({f"+1415555{i:04d}": 1 for i in range(100, 100 + RUNS)})
    assert recorded == {to: (1, 1) for to in calls}
    assert engine.reconcile().judged == 0
