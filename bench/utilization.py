"""Line utilization under the real Airflow scheduler, in scaled time against the sandbox.

A campaign with more due leads than it can call keeps `max_calls_in_parallel` lines busy:
busy line-seconds / (max_calls_in_parallel × seconds with leads due inside the window),
measured from the first call over several ticks (tick boundaries included). Also seconds
from unpausing the DAG to the first call. Ends with one JSON line.

Time is scaled: calls last 1/10 of their simulated length and a tick is OUTCALL_TICK_SECONDS
(default here 120 s) instead of 600 s.

    python bench/utilization.py [--seconds 300] [--tick 120]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "plugins"), str(ROOT), str(ROOT / "tests")]
MAX_PARALLEL = 3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300, help="measured from the first call")
    ap.add_argument("--tick", type=int, default=120)
    ap.add_argument("--time-scale", type=float, default=10)
    args = ap.parse_args()

    from airflow_stack import airflow_stack

    import pgcluster
    from sandbox import Sandbox

    with pgcluster.temporary_cluster() as url, tempfile.TemporaryDirectory(prefix="outcall-util-") as tmp:
        work = Path(tmp)
        spec = yaml.safe_load((ROOT / "include" / "campaigns" / "example.yaml").read_text())
        spec.update(name="utilization", max_calls_in_parallel=MAX_PARALLEL, leads={"csv": "utilization.csv"})
        spec["retry"]["max_attempts"] = 1
        (work / "utilization.yaml").write_text(yaml.safe_dump(spec))
        with (work / "utilization.csv").open("w") as f:  # answered calls, goal met: more than can be called
            f.write("phone_number\n" + "".join(f"+1628555{i:04d}\n" for i in range(0, 1000)))

        with Sandbox(cps=1, time_scale=args.time_scale, variables_delay=0.2) as sb, \
                airflow_stack(url, campaigns_dir=work, twilio=(sb.config.account_sid, sb.config.auth_token, sb.url),
                              scheduler=True, dag_processor=True, tick_seconds=2,
                              extra_env={"OUTCALL_TICK_SECONDS": str(args.tick),
                                         "AIRFLOW__CORE__PARALLELISM": "8"}) as stack:
            api = httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=30)
            deadline = time.time() + 180
            while api.get("/api/v2/dags/campaign_utilization").status_code != 200:
                if time.time() > deadline:
                    sys.exit("the DAG was not parsed in time")
                time.sleep(0.5)
            unpaused = time.time()
            api.patch("/api/v2/dags/campaign_utilization", json={"is_paused": False}).raise_for_status()
            while not sb.calls():
                time.sleep(0.1)
            first = min(datetime.fromisoformat(c["created_at"]).timestamp() for c in sb.calls())
            first_call_s = first - unpaused
            print(f"first call {first_call_s:.1f} s after unpausing the DAG")
            end = first + args.seconds
            time.sleep(max(0.0, end - time.time()))
            calls = sb.calls()

        busy = 0.0
        for c in calls:  # a line is busy from the create request until Twilio ends the call
            start = datetime.fromisoformat(c["created_at"]).timestamp()
            stop = datetime.fromisoformat(c["ended_at"]).timestamp() if c.get("ended_at") else end
            busy += max(0.0, min(stop, end) - max(start, first))
        utilization = busy / (MAX_PARALLEL * args.seconds)
        print(f"{len(calls)} calls in {args.seconds:.0f} s ({args.seconds / args.tick:.1f} ticks of {args.tick} s); "
              f"busy line-seconds {busy:.0f} of {MAX_PARALLEL * args.seconds:.0f}: utilization {utilization:.3f} "
              f"(goal >= 0.90)")
        print(json.dumps({"utilization": round(utilization, 3), "first_call_s": round(first_call_s, 1)}))


if __name__ == "__main__":
    main()
