"""Many campaigns on one account under the real scheduler: line utilization per campaign.

N campaigns (default 100, each 200 leads, `max_calls_in_parallel` 2, every lead called once)
share one Twilio account (the sandbox) under Airflow's scheduler with LocalExecutor
parallelism 8, one triggerer (tests/airflow_stack.py starts exactly one with the scheduler)
and a short tick (300 s; the product default is 600). All campaign DAGs are unpaused at once,
once all are parsed. Everything is measured from the outside: calls from the sandbox's own
call log, task states from the REST API, CPU from the process trees.

Per campaign: utilization = busy line-seconds / (max_calls_in_parallel × seconds the campaign
had due leads), that interval being from its first call's creation to its last lead's call
(or to the end of the measurement if not every lead was called); a line is busy from the
create request until the call ends. first_call_s = its first call − the unpause. Every ~2 s
the number of campaign task instances `running` (worker slots busy) and `deferred` (waiting
in the triggerer) is sampled. The run ends once every lead was called and every call ended,
or at --timeout (seconds after the unpause). While it runs, the bench reads only the sandbox's
counts (its whole call log, read under the sandbox's lock, is read every 30 s and at the end):
the sandbox stands for Twilio, whose work does not share this machine's cores.

A timeline per minute says where the lines' time went: calls in flight, how long a freed line
waited for its campaign's next call, how late status callbacks came, task runs, CPU by group.

CPU: before the unpause the stack idles --idle-seconds with every DAG parsed and paused (the
baseline rate); then CPU seconds of the Airflow processes (with their tasks), PostgreSQL and
this process (the sandbox) are totalled over the run, and the run's CPU above the idle
baseline is divided by the task instances that ran.

Time is scaled: at --time-scale 20 a sandbox call (rings 4-15 s, talks 30-180 s simulated)
lasts about 2-10 real seconds, ~5.7 s on average, so 2 lines × 100 campaigns need ~35 calls/s;
the account's CPS (--cps, sandbox and connection alike) is 100, so it is not the limit.

    python bench/many_campaigns.py [--campaigns 100] [--leads 200] [--parallel 2] [--parallelism 8]
                                   [--tick 300] [--time-scale 20] [--cps 100] [--timeout 1800]

Ends with one JSON line: campaigns, parallelism, utilization_min, utilization_median,
first_call_s_max, worker_slots_busy_median (and more). Goal: utilization_median >= 0.85 and
utilization_min >= 0.6 with every campaign dialing, first_call_s_max <= 60.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "plugins"), str(ROOT), str(ROOT / "tests")]
PREFIX = "many_"                    # campaign names many_000, many_001, ...; DAGs campaign_many_...
DAG_PREFIX = f"campaign_{PREFIX}"
SAMPLE_S = 2.0
CPU_SAMPLE_S = 10.0
LIVE = ("queued", "initiated", "ringing", "in-progress")  # a call not yet ended
RAN_STATES = ("success", "failed", "up_for_retry", "upstream_failed", "running", "deferred",
              "up_for_reschedule", "restarting")


def lead_number(campaign: int, lead: int, leads: int) -> str:
    """A distinct answered-goal-met number (…0xxx, sandbox/outcomes.py) per campaign and lead:
    area code 628, one exchange (200-999) per 1000 leads of a campaign."""
    block = campaign * math.ceil(leads / 1000) + lead // 1000
    if block >= 800:
        raise SystemExit("too many campaigns × leads for the numbering (800,000 numbers)")
    return f"+1628{200 + block:03d}0{lead % 1000:03d}"


def write_campaigns(folder: Path, campaigns: int, leads: int, parallel: int) -> dict[str, str]:
    """Campaign files and their lead CSVs; returns {lead number: campaign name}."""
    base = yaml.safe_load((ROOT / "include" / "campaigns" / "example.yaml").read_text())
    owner = {}
    for k in range(campaigns):
        name = f"{PREFIX}{k:03d}"
        spec = json.loads(json.dumps(base))  # a deep copy; caller ID of the example, one account
        spec.update(name=name, max_calls_in_parallel=parallel, leads={"csv": f"{name}.csv"})
        spec["retry"]["max_attempts"] = 1  # every lead called once
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
        numbers = [lead_number(k, j, leads) for j in range(leads)]
        (folder / f"{name}.csv").write_text("phone_number\n" + "".join(n + "\n" for n in numbers))
        owner.update(dict.fromkeys(numbers, name))
    return owner


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


# -- CPU of process trees ---------------------------------------------------------------------

def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds of `root` and its live descendants, plus those they already reaped."""
    total = 0.0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def postmaster(port: int) -> psutil.Process | None:
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if p.info["name"] == "postgres" and "-p" in cmd and str(port) in cmd:
            return p
    return None


class CpuMeter:
    """Snapshots of CPU seconds per group: each Airflow process tree (the scheduler's own process
    apart from its LocalExecutor workers and their tasks), PostgreSQL, this process."""

    def __init__(self, stack, pg_port: int):
        self.roots = {}
        for proc in stack.processes:
            self.roots[proc.args[1]] = psutil.Process(proc.pid)  # [airflow, api-server|scheduler|...]
        pg = postmaster(pg_port)
        if pg is not None:
            self.roots["postgres"] = pg
        self.me = psutil.Process()

    def snapshot(self) -> dict[str, float]:
        snap = {name: tree_cpu(p) for name, p in self.roots.items()}
        if "scheduler" in self.roots:  # its LocalExecutor workers and their task processes apart
            try:
                t = self.roots["scheduler"].cpu_times()
            except psutil.Error:
                pass
            else:
                snap["executor+tasks"] = snap["scheduler"] - (t.user + t.system)
                snap["scheduler"] = t.user + t.system
        t = self.me.cpu_times()
        snap["bench+sandbox"] = t.user + t.system
        return snap


def diff(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: b[k] - a.get(k, 0.0) for k in b}


def task_executions(home: Path) -> int:
    """Task processes started for the campaign DAGs: every start (the first and each resume
    after a deferral) opens Airflow's "Pre Execute" log group in the task's log."""
    count = 0
    for log in (home / "logs").glob(f"dag_id={DAG_PREFIX}*/**/*.log"):
        if ".trigger." not in log.name:
            with log.open(errors="replace") as f:
                count += sum(1 for line in f if '"event":"::group::Pre Execute"' in line)
    return count


# -- REST API ---------------------------------------------------------------------------------

class Api:
    def __init__(self, stack):
        self.stack = stack
        self.client = httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=60)
        self.lock = threading.Lock()

    def call(self, method: str, path: str, **kw) -> httpx.Response:
        with self.lock:
            r = self.client.request(method, path, **kw)
            if r.status_code == 401:  # token expired: a new one
                self.client.headers.update(self.stack.headers())
                r = self.client.request(method, path, **kw)
        r.raise_for_status()
        return r

    def dags(self, **params) -> int:
        params = {"dag_id_prefix_pattern": DAG_PREFIX, "limit": 1, **params}
        return self.call("GET", "/api/v2/dags", params=params).json()["total_entries"]

    def import_errors(self) -> list[str]:
        errors = self.call("GET", "/api/v2/importErrors", params={"limit": 5}).json()["import_errors"]
        return [f"{e['filename']}: {e['stack_trace'].strip().splitlines()[-1]}" for e in errors]

    def task_instances(self, state: str) -> int:
        params = {"dag_id_prefix_pattern": DAG_PREFIX, "state": state, "limit": 1}
        return self.call("GET", "/api/v2/dags/~/dagRuns/~/taskInstances", params=params).json()["total_entries"]

    def unpause_all(self) -> None:
        """Unpause every campaign DAG: bulk PATCHes of up to 100 paused DAGs each. (Airflow 3.3's
        bulk PATCH matches nothing on dag_id_prefix_pattern alone; dag_id_pattern is a substring.)"""
        for _ in range(100):
            r = self.call("PATCH", "/api/v2/dags", json={"is_paused": False},
                          params={"dag_id_pattern": DAG_PREFIX, "paused": True, "limit": 100})
            if not r.json()["dags"]:
                return


class Sampler(threading.Thread):
    """Every SAMPLE_S: task instances running (worker slots busy), deferred and queued; every
    CPU_SAMPLE_S a CPU snapshot of the meter (for the timeline)."""

    def __init__(self, api: Api, meter: CpuMeter):
        super().__init__(daemon=True)
        self.api, self.meter, self.stop = api, meter, threading.Event()
        self.samples: dict[str, list[int]] = {"running": [], "deferred": [], "queued": []}
        self.running_at: list[tuple[float, int]] = []
        self.cpu: list[tuple[float, dict[str, float]]] = []
        self.errors = 0

    def run(self):
        while not self.stop.is_set():
            began = time.monotonic()
            if not self.cpu or time.time() - self.cpu[-1][0] >= CPU_SAMPLE_S:
                self.cpu.append((time.time(), self.meter.snapshot()))
            try:
                counts = {state: self.api.task_instances(state) for state in self.samples}
            except httpx.HTTPError:
                self.errors += 1
            else:
                for state, n in counts.items():
                    self.samples[state].append(n)
                self.running_at.append((time.time(), counts["running"]))
            self.stop.wait(max(0.0, SAMPLE_S - (time.monotonic() - began)))


# -- the timeline: where the lines' time went ------------------------------------------------

def pct(xs: list[float], q: float) -> float | None:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def refill_gaps(calls: list[dict]) -> list[tuple[float, float]]:
    """(moment a line freed, seconds until the campaign placed its next call), for one
    campaign's calls: each call's end frees a line; each creation refills the earliest freed."""
    events = sorted([(ts(c["ended_at"]), 1) for c in calls if c["ended_at"]]
                    + [(ts(c["created_at"]), 0) for c in calls])
    free, gaps = [], []
    for at, is_end in events:
        if is_end:
            free.append(at)
        elif free:
            freed = free.pop(0)
            gaps.append((freed, at - freed))
    return gaps


def print_timeline(calls: list[dict], by_campaign: dict, sampler: Sampler, unpaused: float,
                   end: float, step: float = 60.0) -> None:
    """Per `step` seconds after the unpause: calls in flight (mean), the seconds a freed line
    waited for its campaign's next call (median, p90), status callbacks' delay behind their
    event (median, p95) and the API server's answer to them (median), task instances running
    (mean) and CPU cores per process group."""
    gaps = [g for cs in by_campaign.values() for g in refill_gaps(cs)]
    lags = [(ts(cb["at"]), cb["delivered_after_s"], cb["took_s"]) for c in calls
            for cb in c["callbacks"] if "delivered_after_s" in cb]  # status callbacks sent
    spans = [(ts(c["created_at"]), ts(c["ended_at"]) or end) for c in calls]
    cpu = sampler.cpu
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    print(f"\n{'t_s':>5} {'in_flight':>9} {'refill_p50':>10} {'refill_p90':>10} {'cb_lag_p50':>10} "
          f"{'cb_lag_p95':>10} {'cb_http_p50':>11} {'tasks':>5}  CPU cores by group")
    t = unpaused
    while t < end:
        u = min(t + step, end)
        in_flight = sum(max(0.0, min(b, u) - max(a, t)) for a, b in spans) / (u - t)
        g = [x for at, x in gaps if t <= at < u]
        lag = [x for at, x, _ in lags if t <= at < u]
        took = [x for at, _, x in lags if t <= at < u]
        run = [n for at, n in sampler.running_at if t <= at < u]
        snaps = [(at, snap) for at, snap in cpu if t <= at <= u + CPU_SAMPLE_S]
        cores = ""
        if len(snaps) >= 2:
            (a0, s0), (a1, s1) = snaps[0], snaps[-1]
            cores = " ".join(f"{k} {v / (a1 - a0):.2f}" for k, v in diff(s0, s1).items())
        print(f"{t - unpaused:>5.0f} {in_flight:>9.0f} {fmt(pct(g, 0.5)):>10} {fmt(pct(g, 0.9)):>10} "
              f"{fmt(pct(lag, 0.5)):>10} {fmt(pct(lag, 0.95)):>10} {fmt(pct(took, 0.5)):>11} "
              f"{(sum(run) / len(run) if run else 0):>5.1f}  {cores}", flush=True)
        t = u


# -- the measurement --------------------------------------------------------------------------

def campaign_figures(calls: list[dict], leads: int, parallel: int, unpaused: float, end: float) -> dict:
    if not calls:
        return {"calls": 0, "leads_called": 0, "first_call_s": None, "interval_s": 0.0, "busy_s": 0.0,
                "utilization": 0.0}
    created = sorted(ts(c["created_at"]) for c in calls)
    first = created[0]
    called = len({c["to"] for c in calls})
    last = created[-1] if called >= leads else end  # after the last lead's call no lead is due
    busy = 0.0
    for c in calls:
        start, stop = ts(c["created_at"]), ts(c["ended_at"]) or end
        busy += max(0.0, min(stop, end, last) - max(start, first))
    interval = last - first
    return {"calls": len(calls), "leads_called": called, "first_call_s": first - unpaused,
            "interval_s": interval, "busy_s": busy,
            "utilization": busy / (parallel * interval) if interval > 0 else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--campaigns", type=int, default=100)
    ap.add_argument("--leads", type=int, default=200, help="per campaign")
    ap.add_argument("--parallel", type=int, default=2, help="max_calls_in_parallel of every campaign")
    ap.add_argument("--parallelism", type=int, default=8, help="AIRFLOW__CORE__PARALLELISM (LocalExecutor)")
    ap.add_argument("--tick", type=int, default=300, help="OUTCALL_TICK_SECONDS (the product default is 600)")
    ap.add_argument("--time-scale", type=float, default=20, help="sandbox: simulated seconds per real second")
    ap.add_argument("--cps", type=float, default=100, help="the account's calls per second")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds after the unpause")
    ap.add_argument("--idle-seconds", type=float, default=60, help="CPU baseline of the idle, paused stack")
    ap.add_argument("--max-connections", type=int, default=500, help="PostgreSQL max_connections")
    ap.add_argument("--dag-parse-interval", type=int, default=30,
                    help="dag-processor min_file_process_interval (the stack's test default is 2 s)")
    ap.add_argument("--dagruns-per-loop", type=int, default=20,
                    help="[scheduler] max_dagruns_per_loop_to_schedule (Airflow's default: 20)")
    ap.add_argument("--keep-home", action="store_true", help="keep the Airflow home (logs) and print it")
    args = ap.parse_args()

    from airflow_stack import airflow_stack

    import pgcluster
    from sandbox import Sandbox

    with pgcluster.temporary_cluster(max_connections=args.max_connections) as url, \
            tempfile.TemporaryDirectory(prefix="outcall-many-") as tmp:
        work = Path(tmp)
        owner = write_campaigns(work, args.campaigns, args.leads, args.parallel)
        names = sorted(set(owner.values()))
        with Sandbox(cps=args.cps, time_scale=args.time_scale, variables_delay=0.2) as sb:
            extra_env = {"OUTCALL_TICK_SECONDS": str(args.tick),
                         "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
                         "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(args.dag_parse_interval),
                         "AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": str(args.dagruns_per_loop)}
            with airflow_stack(url, campaigns_dir=work, twilio=(sb.account_sid, sb.auth_token, sb.url),
                               twilio_extra={"calls_per_second": args.cps},  # the account's CPS
                               scheduler=True, dag_processor=True, tick_seconds=2, extra_env=extra_env,
                               keep_home=args.keep_home) as stack:
                if args.keep_home:
                    print(f"Airflow home: {stack.home}", flush=True)
                triggerers = sum(1 for p in stack.processes if p.args[1] == "triggerer")
                if triggerers != 1:
                    sys.exit(f"{triggerers} triggerers running, expected 1")
                run(args, stack, sb, url, owner, names)


def run(args, stack, sb, pg_url: str, owner: dict[str, str], names: list[str]) -> None:
    api = Api(stack)
    began = time.time()
    deadline = began + 120 + 5 * args.campaigns
    while api.dags() < args.campaigns:
        if time.time() > deadline:
            sys.exit(f"only {api.dags()} of {args.campaigns} campaign DAGs parsed in {deadline - began:.0f} s")
        time.sleep(1)
    print(f"{args.campaigns} campaign DAGs parsed in {time.time() - began:.0f} s", flush=True)

    meter = CpuMeter(stack, int(pg_url.rsplit(":", 1)[1]))
    idle_rate = {}
    if args.idle_seconds > 0:
        a, t0 = meter.snapshot(), time.time()
        time.sleep(args.idle_seconds)
        idle = diff(a, meter.snapshot())
        idle_rate = {k: v / (time.time() - t0) for k, v in idle.items()}
        print("idle CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in idle_rate.items()), flush=True)

    cpu_start = meter.snapshot()
    sampler = Sampler(api, meter)
    unpaused = time.time()
    api.unpause_all()
    still_paused = api.dags(paused=True)
    print(f"unpaused {args.campaigns - still_paused} of {args.campaigns} DAGs in {time.time() - unpaused:.1f} s",
          flush=True)
    if still_paused:
        sys.exit(f"{still_paused} campaign DAGs are still paused")
    sampler.start()

    total_leads = args.campaigns * args.leads
    last_report, broken = 0.0, 0
    while True:
        time.sleep(2)
        now = time.time()
        stats = sb.stats()  # counts only: the whole call log is read at the end (and every 30 s)
        called = stats["numbers_called"]
        in_flight = sum(n for status, n in stats["calls_by_status"].items() if status in LIVE)
        if called >= total_leads and not in_flight:
            calls = sb.calls()
            end, timed_out = max(ts(c["ended_at"]) for c in calls), False
            break
        if now - unpaused > args.timeout:
            calls, end, timed_out = sb.calls(), now, True
            break
        if now - last_report >= 30:
            last_report = now
            dialing = len({owner[c["to"]] for c in sb.calls() if c["to"] in owner})
            run_s = sampler.samples["running"][-1:] or ["?"]
            def_s = sampler.samples["deferred"][-1:] or ["?"]
            print(f"[{now - unpaused:6.0f} s] {called}/{total_leads} leads called, {in_flight} in flight, "
                  f"{dialing}/{args.campaigns} campaigns dialing; task instances running {run_s[0]}, "
                  f"deferred {def_s[0]}", flush=True)
            errors = api.import_errors()  # a DAG file that stopped importing: its DAGs go stale
            broken = broken + 1 if errors else 0
            for error in errors:
                print(f"  import error: {error}", flush=True)
            if broken >= 3:
                sys.exit("the DAG files do not import: stopped")
    sampler.stop.set()
    sampler.join(timeout=30)
    run_s = time.time() - unpaused
    cpu_run = diff(cpu_start, meter.snapshot())
    ran = {state: api.task_instances(state) for state in RAN_STATES}
    tasks_ran = sum(ran.values())
    executions = task_executions(stack.home)

    by_campaign: dict[str, list[dict]] = {name: [] for name in names}
    for c in calls:
        if c["to"] in owner:
            by_campaign[owner[c["to"]]].append(c)
    stray = sum(1 for c in calls if c["to"] not in owner)

    print(f"\n{'campaign':<10} {'calls':>5} {'first_call_s':>12} {'due_s':>7} {'busy_s':>8} {'utilization':>11}")
    figures = {}
    for name in names:
        f = figures[name] = campaign_figures(by_campaign[name], args.leads, args.parallel, unpaused, end)
        first = "-" if f["first_call_s"] is None else f"{f['first_call_s']:.1f}"
        util = "-" if f["utilization"] is None else f"{f['utilization']:.3f}"
        print(f"{name:<10} {f['calls']:>5} {first:>12} {f['interval_s']:>7.1f} {f['busy_s']:>8.1f} {util:>11}")

    print_timeline(calls, by_campaign, sampler, unpaused, end)

    utils = [f["utilization"] for f in figures.values() if f["utilization"] is not None]
    firsts = [f["first_call_s"] for f in figures.values() if f["first_call_s"] is not None]
    dialed = sum(1 for f in figures.values() if f["calls"])
    complete = sum(1 for f in figures.values() if f["leads_called"] >= args.leads)
    running = sampler.samples["running"]
    deferred = sampler.samples["deferred"]
    queued = sampler.samples["queued"]
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731

    airflow_groups = [k for k in cpu_run if k not in ("postgres", "bench+sandbox")]
    above_idle = {k: v - idle_rate.get(k, 0.0) * run_s for k, v in cpu_run.items()}
    stack_cpu = sum(cpu_run[k] for k in airflow_groups) + cpu_run.get("postgres", 0.0)
    stack_above = sum(above_idle[k] for k in airflow_groups) + above_idle.get("postgres", 0.0)
    per_task = stack_above / tasks_ran if tasks_ran else None
    per_execution = stack_above / executions if executions else None

    print(f"\n{len(calls)} calls ({stray} to other numbers) in {run_s:.0f} s; {dialed}/{args.campaigns} campaigns "
          f"dialed, {complete} called every lead{'; TIMED OUT' if timed_out else ''}")
    if utils:
        print(f"utilization min {min(utils):.3f}, median {statistics.median(utils):.3f}, max {max(utils):.3f} "
              f"(goal: median >= 0.85, min >= 0.6)")
    if firsts:
        print(f"first call after the unpause: min {min(firsts):.1f} s, median {statistics.median(firsts):.1f} s, "
              f"max {max(firsts):.1f} s (goal <= 60)")
    print(f"task instances sampled {len(running)}× ({sampler.errors} failed): running median {med(running)} "
          f"max {max(running, default=None)} (parallelism {args.parallelism}); deferred median {med(deferred)} "
          f"max {max(deferred, default=None)}; queued median {med(queued)} max {max(queued, default=None)}")
    print("task instances by state: " + ", ".join(f"{k} {v}" for k, v in ran.items() if v))
    print("sandbox requests: " + ", ".join(f"{k} {v}" for k, v in sorted(sb.stats()["requests"].items())))
    print(f"CPU seconds over the run ({run_s:.0f} s; above the idle baseline in brackets): " + ", ".join(
        f"{k} {v:.0f} [{above_idle[k]:.0f}]" for k, v in cpu_run.items()))
    if per_task is not None:
        print(f"Airflow + PostgreSQL: {stack_cpu:.0f} CPU s, {stack_above:.0f} above idle: {per_task:.2f} CPU s per "
              f"task instance ({tasks_ran}), {per_execution or 0:.2f} per task execution ({executions}, "
              f"resumes after a deferral included)")

    result = {
        "campaigns": args.campaigns,
        "parallelism": args.parallelism,
        "utilization_min": round(min(utils), 3) if utils else 0.0,  # a campaign that never dialed: 0
        "utilization_median": round(statistics.median(utils), 3) if utils else 0.0,
        "first_call_s_max": round(max(firsts), 1) if len(firsts) == args.campaigns else None,
        "worker_slots_busy_median": med(running),
        "every_campaign_dialed": dialed == args.campaigns,
        "every_lead_called": complete == args.campaigns,
        "leads": args.leads, "parallel": args.parallel, "tick_s": args.tick, "time_scale": args.time_scale,
        "cps": args.cps, "run_s": round(run_s, 1), "timed_out": timed_out,
        "deferred_median": med(deferred),
        "task_instances": tasks_ran,
        "task_executions": executions,
        "cpu_s_per_task_instance": round(per_task, 2) if per_task is not None else None,
        "cpu_s_per_task_execution": round(per_execution, 2) if per_execution is not None else None,
        "cpu_s_above_idle": {k: round(v, 1) for k, v in above_idle.items()},
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
