"""Pacing benchmark: 4 dialers in parallel, 2 campaigns, one Twilio account at 5 calls/s.

Prints achieved / allowed calls per second while every dialer is busy, the busiest 1-second
window (it must never exceed the allowed rate), and Twilio requests per reconciled call when
10,000 calls are in flight. Ends with one JSON line.

    python bench/pacing.py [--seconds 20] [--in-flight 10000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "plugins"), str(ROOT)]

CPS = 5
CAMPAIGNS = ("pacing_a", "pacing_b")
CALLERS = {"pacing_a": "+14155550100", "pacing_b": "+14155550199"}


def campaign_file(folder: Path, name: str, max_parallel: int) -> None:
    spec = yaml.safe_load((ROOT / "include" / "campaigns" / "example.yaml").read_text())
    spec.update(name=name, max_calls_in_parallel=max_parallel, leads=None)
    spec["assistant"]["phone_number"] = CALLERS.get(name, "+14155550100")
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))


def leads_csv(path: Path, n: int, first: int) -> None:
    with path.open("w") as f:
        f.write("phone_number\n")
        for i in range(first, first + n):  # 0xxx numbers: answered, goal met
            f.write(f"+1{628 + i // 1000 % 3}{555 + i // 3000:03d}{i % 1000:04d}\n")


def dialer(name: str, start: float, seconds: float) -> None:
    """One dialer process: refill-dial from `start` for `seconds`."""
    from outcall_provider.engine import campaign_engine

    engine = campaign_engine(name, poll_interval=0.05)
    # Open the Twilio connection before the start: a process's first request pays for lazy
    # imports and a new connection (50+ ms), late enough to push one call too many into a
    # second. The pacing margin (30 ms) covers a warm dialer's jitter, not a cold start.
    engine.twilio.balance()
    time.sleep(max(0.0, start - time.time()))
    deadline = datetime.fromtimestamp(start + seconds, timezone.utc)
    report = engine.dial([], deadline=deadline, refill=True)
    print(json.dumps(vars(report)), flush=True)


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--in-flight", type=int, default=10_000)
    ap.add_argument("--dialer", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dialer:
        return dialer(args.dialer[0], float(args.dialer[1]), float(args.dialer[2]))

    import pgcluster
    from sandbox import Sandbox

    with pgcluster.temporary_cluster() as url, tempfile.TemporaryDirectory(prefix="outcall-pacing-") as tmp:
        work = Path(tmp)
        with Sandbox(cps=CPS, time_scale=600, phone_numbers=list(CALLERS.values()), variables_delay=0.05) as sb:
            env = {**os.environ, "AIRFLOW_CONN_OUTCALL_DB": f"{url}/outcall", "AIRFLOW_HOME": str(work / "airflow"),
                   "OUTCALL_CAMPAIGNS_DIR": str(work), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                   "AIRFLOW_CONN_TWILIO_DEFAULT": json.dumps({
                       "conn_type": "twilio", "login": sb.config.account_sid, "password": sb.config.auth_token,
                       "extra": {"base_url": sb.url, "calls_per_second": CPS}}),
                   "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])}
            os.environ.update(env)
            from outcall_provider.campaign_files import load_campaign
            from outcall_provider.hooks.campaign import CampaignHook

            store = CampaignHook()
            now = datetime.now(timezone.utc)
            for i, name in enumerate(CAMPAIGNS):
                campaign_file(work, name, max_parallel=1000)
                cid = store.upsert_campaign(load_campaign(work / f"{name}.yaml"), now)
                leads_csv(work / f"{name}.csv", 600, i * 600)
                store.import_leads_csv(cid, work / f"{name}.csv", None, now)

            start = time.time() + 12  # every dialer has imported Airflow and is waiting by then
            procs = [subprocess.Popen([sys.executable, __file__, "--dialer", name, str(start), str(args.seconds)],
                                      env=env, stdout=subprocess.PIPE, text=True)
                     for name in CAMPAIGNS for _ in range(2)]
            reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
            created = [datetime.fromisoformat(c["created_at"]).timestamp() for c in sb.calls()]
            inside = [t for t in created if start <= t < start + args.seconds]
            cps_ratio = len(inside) / args.seconds / CPS
            busiest = busiest_second(created)
            print(f"4 dialers, 2 campaigns, one account at {CPS} calls/s for {args.seconds:.0f} s: "
                  f"{len(inside)} calls placed (dialers report {sum(r['placed'] for r in reports)})")
            print(f"achieved / allowed calls per second: {cps_ratio:.3f} (goal >= 0.95)")
            print(f"busiest 1-second window: {busiest} calls (allowed {CPS})")

        # a second account whose CPS does not hold the 10,000 calls back in Twilio's queue
        with Sandbox(cps=100_000, time_scale=600, phone_numbers=list(CALLERS.values())) as bulk:
            os.environ["AIRFLOW_CONN_TWILIO_DEFAULT"] = json.dumps({
                "conn_type": "twilio", "login": bulk.config.account_sid, "password": bulk.config.auth_token,
                "extra": {"base_url": bulk.url, "calls_per_second": 100_000}})
            requests_per_call = in_flight_reconcile(store, bulk, work, args.in_flight)
        print(f"Twilio requests per reconciled call at {args.in_flight:,} in-flight calls: "
              f"{requests_per_call:.4f} (goal <= 0.05)")
        print(json.dumps({"allowed_cps": CPS, "cps_ratio": round(cps_ratio, 3), "max_calls_in_1s": busiest,
                          "requests_per_reconciled_call": round(requests_per_call, 4)}))


def in_flight_reconcile(store, sb, work: Path, n: int) -> float:
    """10,000 calls in flight for one campaign, then one reconciliation: count its requests."""
    from outcall_provider.campaign_files import load_campaign
    from outcall_provider.engine import CallEngine
    from outcall_provider.hooks.twilio import TwilioHook

    campaign_file(work, "pacing_bulk", max_parallel=n)
    campaign = load_campaign(work / "pacing_bulk.yaml")
    now = datetime.now(timezone.utc)
    cid = store.upsert_campaign(campaign, now)
    leads_csv(work / "bulk.csv", n, 5000)
    store.import_leads_csv(cid, work / "bulk.csv", None, now)
    started = datetime.now(timezone.utc)
    leads = store.claim_due_leads(cid, started, n)
    sids = [sb.create_call(To=lead.to_number, From=campaign.assistant.phone_number,
                           Url="https://assistant.example.com/voice")["sid"] for lead in leads]
    with store.db.cursor() as cur:  # what n dialers would have written: attempts with their SIDs
        cur.executemany(
            "insert into outcall_attempts (campaign_id, lead_id, cycle, round, contact_index, to_number, "
            "from_number, started_at, call_sid, call_status) values (%s, %s, 1, 1, 0, %s, %s, %s, %s, 'queued')",
            [(cid, lead.id, lead.to_number, campaign.assistant.phone_number, started, sid)
             for lead, sid in zip(leads, sids)])
        cur.execute("update outcall_leads set status = 'processing' where campaign_id = %s", (cid,))
    store.db.commit()
    time.sleep(2)  # the calls end (3 simulated minutes at time scale 600 is 0.3 s)
    before = sum(sb.stats()["requests"].values())
    engine = CallEngine(store, TwilioHook(), campaign, cid, variables_grace=timedelta(0))
    report = engine.reconcile()
    stats = sb.stats()
    after = sum(stats["requests"].values())
    print(f"reconciled {report.updated:,} calls ({report.judged:,} judged) with "
          f"{after - before} Twilio requests")
    return (after - before) / max(report.updated, 1)


if __name__ == "__main__":
    main()
