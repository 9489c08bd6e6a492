"""Fault benchmark: one campaign of 2,000 leads at 10 calls/s against the strict sandbox.

5% of creates make the call and answer 500, 5% make it and hang past the dialer's timeout,
2% of all Twilio requests answer 429; status callbacks (into outcall's real webhook app) are
dropped, duplicated, reordered or lack AnsweredBy; and a person changes 50 leads while they
are queued or in flight. Two dialers and a reconciler run side by side.

Counts what must never happen: a person called twice (a call no attempt accounts for), a lead
left `scheduled`/`processing`, a lead lost (missing, or left due and never dialed), and more
calls in one second than the account allows. Ends with one JSON line.

    python bench/faults.py [--leads 2000] [--cps 10]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "plugins"), str(ROOT)]

from pacing import busiest_second  # noqa: E402  (bench/pacing.py)

CALLER = "+14155550100"
ASSISTANT_SECRET = "bench-assistant-secret"
ORPHAN_GRACE = timedelta(seconds=45)  # the sandbox lists a created call at once; Twilio: minutes
PERSON_CHANGES = 50


def campaign_file(folder: Path) -> None:
    spec = yaml.safe_load((ROOT / "include" / "campaigns" / "example.yaml").read_text())
    spec.update(name="faults", max_calls_in_parallel=40, leads=None)
    spec["retry"] = {"max_attempts": 1, "interval_minutes": 10, "on_voicemail": False,
                     "until_goal": "appointment_booked"}
    (folder / "faults.yaml").write_text(yaml.safe_dump(spec))


def webhook_server(port: int):
    """outcall's webhook app (signature checks and all), served as the API server mounts it."""
    import uvicorn
    from fastapi import FastAPI

    from outcall_provider.api.app import create_webhooks_app

    root = FastAPI()
    root.mount("/outcall/webhooks", create_webhooks_app())
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def engine():
    from outcall_provider.engine import campaign_engine

    return campaign_engine("faults", poll_interval=0.1, orphan_grace=ORPHAN_GRACE,
                           variables_grace=timedelta(seconds=20))


def dialer(stop: threading.Event, errors: list) -> None:
    e = engine()
    try:
        while not stop.is_set():
            e.dial([], deadline=datetime.now(timezone.utc) + timedelta(seconds=5), refill=True)
            time.sleep(0.2)
    except Exception as exc:  # noqa: BLE001 — reported, the benchmark fails
        errors.append(repr(exc))
    finally:
        e.store.close()


def reconciler(stop: threading.Event, errors: list) -> None:
    e = engine()
    try:
        while not stop.is_set():
            e.reconcile()
            time.sleep(1)
    except Exception as exc:  # noqa: BLE001
        errors.append(repr(exc))
    finally:
        e.store.close()


def person(stop: threading.Event, campaign_id: int, done: Counter, completed: set) -> None:
    """Sets leads to `completed` (and tries `created`) while a dialer holds them."""
    from outcall_provider.hooks.campaign import CampaignHook, LeadBusy

    rng = random.Random(7)
    store = CampaignHook()
    while not stop.is_set() and sum(done.values()) < PERSON_CHANGES:
        with store.db.cursor() as cur:
            cur.execute("select id, status from outcall_leads where campaign_id = %s "
                        "and status in ('scheduled', 'processing') order by random() limit 2", (campaign_id,))
            rows = cur.fetchall()
        store.db.commit()
        for lead_id, status in rows:
            wanted = "completed" if rng.random() < 0.7 else "created"
            try:
                store.set_lead_status(campaign_id, lead_id, wanted, datetime.now(timezone.utc))
                done[f"{wanted} while {status}"] += 1
                if wanted == "completed":
                    completed.add(lead_id)
            except LeadBusy:
                done[f"{wanted} refused while {status}"] += 1
        time.sleep(0.3)
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=2000)
    ap.add_argument("--cps", type=int, default=10)
    ap.add_argument("--timeout-s", type=float, default=1200)
    args = ap.parse_args()

    import pgcluster
    from sandbox import Sandbox

    with pgcluster.temporary_cluster() as url, tempfile.TemporaryDirectory(prefix="outcall-faults-") as tmp:
        work = Path(tmp)
        port = pgcluster.free_port()
        with Sandbox(cps=args.cps, time_scale=600, random_mix=True, seed=3, price_delay=1,
                     assistant_results_url=f"http://127.0.0.1:{port}/outcall/webhooks/assistant/results",
                     assistant_secret=ASSISTANT_SECRET) as sb:
            os.environ.update({
                "AIRFLOW_CONN_OUTCALL_DB": f"{url}/outcall", "AIRFLOW_HOME": str(work / "airflow"),
                "OUTCALL_CAMPAIGNS_DIR": str(work), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW_CONN_OUTCALL_ASSISTANT": f"generic://:{ASSISTANT_SECRET}@",
                "AIRFLOW_CONN_TWILIO_DEFAULT": json.dumps({
                    "conn_type": "twilio", "login": sb.config.account_sid, "password": sb.config.auth_token,
                    "extra": {"base_url": sb.url, "calls_per_second": args.cps, "http_timeout": 1,
                              "callback_base_url": f"http://127.0.0.1:{port}"}})})
            from outcall_provider.campaign_files import load_campaign
            from outcall_provider.hooks.campaign import CampaignHook

            campaign_file(work)
            store = CampaignHook()
            now = datetime.now(timezone.utc)
            cid = store.upsert_campaign(load_campaign(work / "faults.yaml"), now)
            with (work / "leads.csv").open("w") as f:
                f.write("phone_number,external_id\n")
                for i in range(args.leads):  # every number's outcome drawn by the random mix
                    f.write(f"+1{415 + i // 10000}555{i % 10000:04d},lead{i}\n")
            report = store.import_leads_csv(cid, work / "leads.csv", None, now)
            assert report.imported == args.leads, report
            webhook_server(port)
            sb.set_faults(seed=11, timeout_seconds=3, rates={
                "create_500_after_create": 0.05, "create_timeout_after_create": 0.05, "status_429": 0.02,
                "callback_drop": 0.1, "callback_duplicate": 0.1, "callback_out_of_order": 0.1,
                "callback_no_answered_by": 0.2})

            stop, errors, changes, completed = threading.Event(), [], Counter(), set()
            threads = [threading.Thread(target=dialer, args=(stop, errors)) for _ in range(2)]
            threads += [threading.Thread(target=reconciler, args=(stop, errors)),
                        threading.Thread(target=person, args=(stop, cid, changes, completed))]
            started = time.time()
            for t in threads:
                t.start()
            while time.time() - started < args.timeout_s and not errors:
                with store.db.cursor() as cur:
                    cur.execute("select count(*) filter (where status not in ('completed', 'max_retries')), "
                                "count(*) from outcall_leads where campaign_id = %s", (cid,))
                    open_leads, _ = cur.fetchone()
                    cur.execute("select count(*) from outcall_attempts where judged_at is null")
                    open_attempts = cur.fetchone()[0]
                store.db.commit()
                if open_leads == 0 and open_attempts == 0:
                    break
                time.sleep(2)
            elapsed = time.time() - started
            stop.set()
            for t in threads:
                t.join()
            last = engine()
            last.reconcile()  # "the next reconciliation"
            last.store.close()

            with store.db.cursor() as cur:
                cur.execute("select status, count(*) from outcall_leads where campaign_id = %s group by 1", (cid,))
                by_status = dict(cur.fetchall())
                cur.execute("select to_number, count(*) from outcall_attempts where call_sid is not null group by 1")
                attempts_by_number = dict(cur.fetchall())
                cur.execute("select count(*) from outcall_leads where campaign_id = %s and id = any(%s) "
                            "and status <> 'completed'", (cid, list(completed)))
                person_overruled = cur.fetchone()[0]
            store.db.commit()
            calls = sb.calls()
            calls_by_number = Counter(c["to"] for c in calls)
            duplicate_calls = sum(max(0, n - attempts_by_number.get(to, 0)) for to, n in calls_by_number.items())
            stuck = by_status.get("scheduled", 0) + by_status.get("processing", 0)
            lost = (args.leads - sum(by_status.values())  # missing, or left due and never dialed
                    + by_status.get("created", 0) + by_status.get("rescheduled", 0))
            busiest = busiest_second([datetime.fromisoformat(c["created_at"]).timestamp() for c in calls])
            stats = sb.stats()
            print(f"{args.leads} leads, {len(calls)} calls in {elapsed:.0f} s at {args.cps} CPS; "
                  f"leads by status {by_status}")
            print(f"faults injected: {dict(stats.get('injected', {}))}")
            print(f"a person's changes: {dict(changes)}; "
                  f"completed leads a dialer moved on anyway: {person_overruled}")
            if errors:
                print(f"errors: {errors}")
            print(json.dumps({"leads": args.leads, "calls": len(calls), "duplicate_calls": duplicate_calls,
                              "stuck_leads": stuck, "lost_leads": lost, "max_calls_in_1s": busiest,
                              "allowed_cps": args.cps}))
            store.close()


if __name__ == "__main__":
    main()
