"""Lead import benchmark: 1,000,000 CSV rows against the bare phone-validation loop.

Prints import time, validation-loop time, their ratio, the importer's peak RSS and the
median time to claim a batch of 100 due leads from the 1,000,000-lead campaign, without and
with compliance (callee-local hours over the leads' 7 time zones, some closed at that moment, and
a 100,000-number do-not-call list), then one JSON line. Goals: ratio <= 1.3, peak RSS <= 400 MB,
claim medians <= 20 ms.

    python bench/import_leads.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "plugins"))


def generate(path: Path, rows: int, seed: int = 42) -> None:
    """20% of rows carry a secondary phone, 1% are bad; a third of the numbers are national."""
    rnd = random.Random(seed)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phone_number", "secondary_phone_1", "external_id", "first_name", "plan"])
        for i in range(rows):
            n = 2_000_000 + i
            # 7 time zones: Los Angeles, New York, Chicago, Denver, Phoenix, Anchorage, Honolulu
            area = (415, 212, 312, 303, 602, 907, 808, 646)[i % 8]
            if rnd.random() < 0.01:
                phone = rnd.choice(["12345", "not a phone", "+99912345678", ""])
            elif i % 3 == 0:
                phone = f"({area}) {n // 10000:03d}-{n % 10000:04d}"
            else:
                phone = f"+1{area}{n:07d}"
            secondary = f"+1718{n:07d}" if rnd.random() < 0.2 else ""
            w.writerow([phone, secondary, f"crm-{i}", rnd.choice(["Ana", "Rui", "Eva"]), rnd.choice(["basic", "pro"])])


def validate_loop(path: Path) -> float:
    """The floor: phonenumbers parse + is_valid over the same rows, one process."""
    import phonenumbers

    start = time.perf_counter()
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            for raw in (row[0], row[1]):
                if raw:
                    try:
                        phonenumbers.is_valid_number(phonenumbers.parse(raw, "US"))
                    except phonenumbers.NumberParseException:
                        pass
    return time.perf_counter() - start


IMPORT_CHILD = """
import json, resource, sys, time
from datetime import datetime, timezone
sys.path.insert(0, {plugins!r})
from outcall_provider.hooks.campaign import CampaignHook
from outcall_provider.campaign_files import load_campaign
hook = CampaignHook()
now = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
cid = hook.upsert_campaign(load_campaign({campaign!r}), now)
start = time.perf_counter()
report = hook.import_leads_csv(cid, {csv!r}, "US", now)
elapsed = time.perf_counter() - start
rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({{"import_s": elapsed, "peak_rss_mb": rss / 1024, "campaign_id": cid,
                  "imported": report.imported, "rejected": report.rejected}}))
"""


def claim_median(campaign_id: int, claims: int = 50) -> float:
    from datetime import datetime, timezone

    from outcall_provider.hooks.campaign import CampaignHook

    hook = CampaignHook()
    now = datetime(2026, 11, 2, 16, 0, tzinfo=timezone.utc)
    with hook.db.cursor() as cur:
        cur.execute("analyze outcall_leads")
    hook.db.commit()
    times = []
    for _ in range(claims):
        start = time.perf_counter()
        batch = hook.claim_due_leads(campaign_id, now, 100)
        times.append(time.perf_counter() - start)
        assert len(batch) == 100
    return statistics.median(times) * 1000


def claim_median_compliance(campaign_id: int, campaign_path: str, dnc_numbers: int = 100_000,
                            claims: int = 50) -> float:
    """The claim as the dialer makes it: the compliance gate's open clocks (Anchorage and Honolulu
    are before 08:00 at 16:00Z), consent off, a DNC list of `dnc_numbers` of the leads' numbers."""
    import dataclasses
    from datetime import datetime, timezone

    from outcall_provider.campaign_files import load_campaign
    from outcall_provider.engine.compliance import ComplianceGate
    from outcall_provider.hooks.campaign import CampaignHook
    from outcall_provider.rules.compliance import Compliance
    from outcall_provider.rules.state_rules import StateRules

    hook = CampaignHook()
    now = datetime(2026, 11, 2, 16, 0, tzinfo=timezone.utc)
    with hook.db.cursor() as cur:
        cur.execute("select phone_number from outcall_leads where campaign_id = %s and id %% 9 = 0 limit %s",
                    (campaign_id, dnc_numbers))
        numbers = [r[0] for r in cur.fetchall()]
    hook.db.commit()
    hook.dnc_add(numbers, "bench", "bench/import_leads.py", now)
    with hook.db.cursor() as cur:
        cur.execute("analyze outcall_leads; analyze outcall_dnc")
    hook.db.commit()
    campaign = dataclasses.replace(load_campaign(campaign_path), compliance=Compliance())
    gate = ComplianceGate(hook, campaign, StateRules.shipped())
    times, suppressed = [], 0
    for _ in range(claims):
        start = time.perf_counter()
        batch = hook.claim_due_leads(campaign_id, now, 100, **gate.claim_filter(now))
        times.append(time.perf_counter() - start)
        assert len(batch) == 100
        assert all(gate.hours(lead, now).hold is None for lead in batch), "a lead outside its hours was claimed"
        suppressed += sum(lead.suppressed for lead in batch)
    assert suppressed, "the DNC list marked none of the claimed leads"
    print(f"  {len(numbers):,} numbers on the DNC list; {suppressed} of {claims * 100} claimed leads marked suppressed")
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()

    import pgcluster

    with pgcluster.temporary_cluster() as url, tempfile.TemporaryDirectory(prefix="outcall-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "AIRFLOW_CONN_OUTCALL_DB": f"{url}/outcall", "AIRFLOW_HOME": str(work / "airflow"),
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        os.environ.update(env)
        path = work / "leads.csv"
        t = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")

        validate_s = validate_loop(path)
        print(f"bare validation loop (parse + is_valid, one process): {validate_s:.2f} s")

        code = IMPORT_CHILD.format(plugins=str(ROOT / "plugins"), csv=str(path),
                                   campaign=str(ROOT / "include" / "campaigns" / "example.yaml"))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(out.stderr)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"import: {result['import_s']:.2f} s ({result['imported']:,} imported, "
              f"{result['rejected']:,} rejected), peak RSS {result['peak_rss_mb']:.0f} MB "
              f"(importer and its workers, each)")
        ratio = result["import_s"] / validate_s
        print(f"ratio import / validation: {ratio:.2f} (goal <= 1.3)")

        claim_ms = claim_median(result["campaign_id"])
        print(f"claim 100 due leads from {result['imported']:,}: median {claim_ms:.1f} ms (goal <= 20 ms)")
        compliance_ms = claim_median_compliance(result["campaign_id"],
                                                str(ROOT / "include" / "campaigns" / "example.yaml"))
        print(f"claim 100 due leads with compliance: median {compliance_ms:.1f} ms (goal <= 20 ms)")
        print(json.dumps({"import_s": round(result["import_s"], 2), "validate_s": round(validate_s, 2),
                          "ratio": round(ratio, 3), "peak_rss_mb": round(result["peak_rss_mb"], 1),
                          "claim_ms_median": round(claim_ms, 2),
                          "claim_ms_median_compliance": round(compliance_ms, 2)}))


if __name__ == "__main__":
    main()
