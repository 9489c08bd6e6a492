"""Pacing benchmark: 4 dialers in parallel, 2 campaigns, one Twilio account at 5 calls/s; then
16 dialers, 8 campaigns, one account at 50 calls/s (issue 13).

Prints achieved / allowed calls per second while every dialer is busy, the busiest 1-second
window of the sandbox's own call log (it must never exceed the allowed rate), what the
dialers spent pacing (locked reads per slot, time in `pace`, slot to create, and the slowest
calls of a busiest window that reached the limit), and Twilio requests per reconciled call
when 10,000 calls are in flight. Ends with one JSON line.

    python bench/pacing.py [--seconds 20] [--in-flight 10000]
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
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
HIGH_CPS = 50                                        # issue 13: 16 dialers, 8 campaigns, one account
HIGH_CAMPAIGNS = tuple(f"pacing_h{i}" for i in range(8))
HIGH_DIALERS_PER_CAMPAIGN = 2
HIGH_TRIM = 1.0  # seconds left out at each end of the run: the steady part is in between
CALLERS.update({name: f"+141555503{i:02d}" for i, name in enumerate(HIGH_CAMPAIGNS)})


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


def dialer(name: str, seconds: float) -> None:
    """One dialer process: get ready, say so, read the start time on stdin, then refill-dial
    from it for `seconds`. Prints its report and what its pacing cost (`probe`)."""
    from outcall_provider.engine import campaign_engine

    # Light: no INFO line per call, and the objects of the Airflow import left out of the
    # collector's full passes (16 of these share 2 cores with PostgreSQL and the sandbox).
    logging.getLogger("outcall_provider").setLevel(logging.WARNING)
    probe = {"calls": [], "oversleep_s": []}
    engine = campaign_engine(name, poll_interval=0.05)
    instrument(engine, probe)
    # Open the Twilio connection before the start: a process's first request pays for lazy
    # imports and a new connection (50+ ms), late enough to push one call too many into a
    # second. The pacing margin (31.5 ms at 5 calls/s, 45 ms at 50) covers a warm dialer's
    # jitter, and a dialer's first slot holds COLD (40 ms) more: not a cold connection.
    engine.twilio.balance()
    engine.store.in_flight(engine.campaign_id)  # the store's connection too
    gc.collect()
    gc.freeze()
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    time.sleep(max(0.0, start - time.time()))
    deadline = datetime.fromtimestamp(start + seconds, timezone.utc)
    cpu = time.process_time()
    report = engine.dial([], deadline=deadline, refill=True)
    probe["cpu_s"] = time.process_time() - cpu
    print(json.dumps({"report": vars(report), "probe": probe}), flush=True)


def instrument(engine, probe: dict) -> None:
    """Measure the pace path of one dialer without changing it: each call's slot (the database
    time `pace` returned), seconds in `pace`, locked reads of the pacing row (more than 1: the
    dialer woke too late for a booked slot and booked another), and how much longer than asked
    each of its waits slept."""
    from outcall_provider.hooks import campaign

    store, twilio = engine.store, engine.twilio
    pace, place_call, query = store.pace, twilio.place_call, campaign.sql.query
    last: dict = {}
    reads = [0]

    def counted_query(name: str) -> str:  # the one module the dialer process has
        reads[0] += name == "pacing_lock"
        return query(name)

    def timed_pace(account_sid, cps, clock, sleep):
        def timed_sleep(s: float) -> None:
            t = time.perf_counter()
            sleep(s)
            probe["oversleep_s"].append(time.perf_counter() - t - s)

        reads[0] = 0
        t = time.perf_counter()
        at = pace(account_sid, cps, clock, timed_sleep)
        last.update(slot=at.timestamp(), pace_s=time.perf_counter() - t, reads=reads[0])
        return at

    def recorded_place_call(*a, **kw):
        sid = place_call(*a, **kw)
        probe["calls"].append([sid, last["slot"], last["pace_s"], last["reads"]])
        return sid

    campaign.sql.query = counted_query
    store.pace, twilio.place_call = timed_pace, recorded_place_call


def run_dialers(env: dict, names: list[str], seconds: float) -> tuple[float, list[dict]]:
    """One dialer process per name, started together once every one of them is ready."""
    procs = [subprocess.Popen([sys.executable, __file__, "--dialer", name, str(seconds)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for name in names]
    for p in procs:
        while (line := p.stdout.readline()) and line.strip() != "ready":
            pass
        if not line:
            raise RuntimeError(f"a dialer exited before it was ready (exit code {p.wait()})")
    start = time.time() + 0.5
    for p in procs:
        p.stdin.write(f"{start}\n")
        p.stdin.close()
    outs = [json.loads(p.stdout.read().strip().splitlines()[-1]) for p in procs]
    for p in procs:
        p.wait()
    return start, outs


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


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
    ap.add_argument("--dialer", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dialer:
        return dialer(args.dialer[0], float(args.dialer[1]))

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

            start, outs = run_dialers(env, [name for name in CAMPAIGNS for _ in range(2)], args.seconds)
            reports = [o["report"] for o in outs]
            created_by_sid = {c["sid"]: datetime.fromisoformat(c["created_at"]).timestamp() for c in sb.calls()}
            created = list(created_by_sid.values())
            inside = [t for t in created if start <= t < start + args.seconds]
            cps_ratio = len(inside) / args.seconds / CPS
            busiest = busiest_second(created)
            print(f"4 dialers, 2 campaigns, one account at {CPS} calls/s for {args.seconds:.0f} s: "
                  f"{len(inside)} calls placed (dialers report {sum(r['placed'] for r in reports)})")
            print(f"achieved / allowed calls per second: {cps_ratio:.3f} (goal >= 0.95)")
            print(f"busiest 1-second window: {busiest} calls (allowed {CPS})")
            pace_report(outs, created_by_sid, start, start + args.seconds, args.seconds, CPS)

        high = high_volume(store, work, args.seconds)

        # a second account whose CPS does not hold the 10,000 calls back in Twilio's queue
        with Sandbox(cps=100_000, time_scale=600, phone_numbers=list(CALLERS.values())) as bulk:
            os.environ["AIRFLOW_CONN_TWILIO_DEFAULT"] = json.dumps({
                "conn_type": "twilio", "login": bulk.config.account_sid, "password": bulk.config.auth_token,
                "extra": {"base_url": bulk.url, "calls_per_second": 100_000}})
            requests_per_call = in_flight_reconcile(store, bulk, work, args.in_flight)
        print(f"Twilio requests per reconciled call at {args.in_flight:,} in-flight calls: "
              f"{requests_per_call:.4f} (goal <= 0.05)")
        print(json.dumps({"allowed_cps": CPS, "cps_ratio": round(cps_ratio, 3), "max_calls_in_1s": busiest,
                          "requests_per_reconciled_call": round(requests_per_call, 4),
                          "cps_ratio_50": round(high["cps_ratio"], 3), "max_calls_in_1s_50": high["busiest"]}))


def high_volume(store, work: Path, seconds: float) -> dict:
    """16 dialers (2 per campaign, 8 campaigns) on one account at 50 calls/s, the sandbox at
    50 CPS. cps_ratio: calls the sandbox saw created in the steady part of the run (HIGH_TRIM
    seconds off each end) per second, over 50; busiest: its busiest 1-second window, whole run."""
    from outcall_provider.campaign_files import load_campaign
    from sandbox import Sandbox

    per_campaign = int(HIGH_CPS * seconds / len(HIGH_CAMPAIGNS) * 1.5) + 50  # never short of due leads
    now = datetime.now(timezone.utc)
    for i, name in enumerate(HIGH_CAMPAIGNS):
        campaign_file(work, name, max_parallel=10_000)
        cid = store.upsert_campaign(load_campaign(work / f"{name}.yaml"), now)
        leads_csv(work / f"{name}.csv", per_campaign, 30_000 + i * per_campaign)  # numbers of their own
        store.import_leads_csv(cid, work / f"{name}.csv", None, now)

    numbers = [CALLERS[name] for name in HIGH_CAMPAIGNS]
    with Sandbox(cps=HIGH_CPS, time_scale=600, phone_numbers=numbers, variables_delay=0.05) as sb:
        env = {**os.environ, "AIRFLOW_CONN_TWILIO_DEFAULT": json.dumps({
            "conn_type": "twilio", "login": sb.config.account_sid, "password": sb.config.auth_token,
            "extra": {"base_url": sb.url, "calls_per_second": HIGH_CPS}})}
        names = [name for name in HIGH_CAMPAIGNS for _ in range(HIGH_DIALERS_PER_CAMPAIGN)]
        cpu_before = cpu_busy()
        start, outs = run_dialers(env, names, seconds)
        cpu_after = cpu_busy()
        log = sb.calls()
    created = {c["sid"]: datetime.fromisoformat(c["created_at"]).timestamp() for c in log}
    times = sorted(created.values())
    lo, hi = start + HIGH_TRIM, start + seconds - HIGH_TRIM
    steady = [t for t in times if lo <= t < hi]
    cps_ratio = len(steady) / (hi - lo) / HIGH_CPS
    busiest = busiest_second(times)
    placed = sum(o["report"]["placed"] for o in outs)
    print(f"{len(names)} dialers, {len(HIGH_CAMPAIGNS)} campaigns, one account at {HIGH_CPS} calls/s for "
          f"{seconds:.0f} s: {len(times)} calls created (dialers report {placed})")
    print(f"achieved / allowed calls per second, {hi - lo:.0f} steady seconds: {cps_ratio:.3f} (goal >= 0.95)")
    print(f"busiest 1-second window: {busiest} calls (allowed {HIGH_CPS})")

    pace_report(outs, created, lo, hi, seconds, HIGH_CPS)
    dialer_cpu = sum(o["probe"]["cpu_s"] for o in outs)
    busy = (cpu_after[0] - cpu_before[0]) / (cpu_after[1] - cpu_before[1])
    print(f"  CPU: machine {busy * 100:.0f}% busy of {os.cpu_count()} cores during the run; the dialers used "
          f"{dialer_cpu / seconds:.2f} cores ({dialer_cpu / max(placed, 1) * 1000:.1f} ms a call)")
    return {"cps_ratio": cps_ratio, "busiest": busiest}


def pace_report(outs: list[dict], created: dict[str, float], lo: float, hi: float, seconds: float,
                cps: int) -> None:
    """Where the time goes: the pace path as the dialers measured it (steady part: lo to hi),
    and the calls of the sandbox's busiest 1-second window, each with its slot to create."""
    from outcall_provider.rules.pacing import LATE, margin

    calls = [c for o in outs for c in o["probe"]["calls"]]
    slots = sorted(c[1] for c in calls)
    gaps = sorted(b - a for a, b in zip(slots, slots[1:]) if lo <= a < hi)
    pace_s = sorted(c[2] for c in calls)
    reads = [c[3] for c in calls]
    delay = sorted(created[c[0]] - c[1] for c in calls if c[0] in created)
    over = sorted(x for o in outs for x in o["probe"]["oversleep_s"])
    print(f"  slots (database clock): {len([t for t in slots if lo <= t < hi]) / (hi - lo):.1f}/s in the steady "
          f"part; gap between slots median {pct(gaps, 50) * 1000:.1f} ms, mean {mean(gaps) * 1000:.2f} ms "
          f"(spacing {1000 / cps:.0f} ms, + {margin(cps).total_seconds() * 1000:.1f} ms per {cps} slots; "
          f"a slot woken for over {LATE.total_seconds() * 1000:.0f} ms late is given up)")
    print(f"  locked reads of the pacing row per slot: {mean(reads):.2f} (max {max(reads, default=0)}); "
          f"{sum(reads) / seconds:.0f} a second in all")
    print(f"  time in pace per call: median {pct(pace_s, 50) * 1000:.1f} ms, p90 {pct(pace_s, 90) * 1000:.1f} ms; "
          f"oversleep per wait median {pct(over, 50) * 1000:.2f} ms, p90 {pct(over, 90) * 1000:.2f} ms")
    print(f"  slot taken -> created at the sandbox: median {pct(delay, 50) * 1000:.1f} ms, p99 "
          f"{pct(delay, 99) * 1000:.1f} ms, max {max(delay, default=0) * 1000:.1f} ms")
    first = sorted(created[o["probe"]["calls"][0][0]] - o["probe"]["calls"][0][1] for o in outs
                   if o["probe"]["calls"] and o["probe"]["calls"][0][0] in created)
    print(f"  of that, each dialer's first call: median {pct(first, 50) * 1000:.1f} ms, max "
          f"{max(first, default=0) * 1000:.1f} ms")
    by_created = sorted((created[c[0]], c[1]) for c in calls if c[0] in created)
    if by_created:
        times = [t for t, _ in by_created]
        i = max(range(len(times)), key=lambda i: sum(1 for t in times[i:] if t < times[i] + 1.0))
        window = [(t, slot) for t, slot in by_created[i:] if t < times[i] + 1.0]
        if len(window) >= cps:  # at the limit or over it: which calls were late to the sandbox
            late = sorted(((t - slot) * 1000, (t - times[i]) * 1000) for t, slot in window)[-3:]
            print(f"  busiest window ({len(window)} calls, {window[-1][0] - times[i]:.3f} s wide, at "
                  f"{times[i] - lo:+.1f} s from the steady part's start): slowest slot to create " +
                  ", ".join(f"{d:.1f} ms (created at +{at:.0f} ms)" for d, at in late))


def pct(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, int(len(xs) * q / 100))] if xs else 0.0


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


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
