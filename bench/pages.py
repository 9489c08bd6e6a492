"""Campaigns page benchmark: server time of the campaign list and a 50-row leads page at
1,000,000 leads (and 300,000 calls), unfiltered and filtered by status.

The data is written straight into the store with generate_series (a minute of CSV import
is not what is measured here). Each figure is the median of 30 runs of the same function the
API route runs, JSON encoding included. Goal: every figure under 300 ms. Ends with one JSON line.

    python bench/pages.py [--leads 1000000] [--pg-url postgresql://...]   # default: own cluster
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "plugins"))

RUNS = 30
NOW = datetime(2025, 3, 12, 15, 0, tzinfo=timezone.utc)

# Lead statuses spread like a campaign half way through.
BUILD_SQL = """
insert into outcall_leads (campaign_id, external_id, phone_number, contact_count, variables, status,
                           due_at, goal_met, last_outcome, created_at, updated_at)
select %(campaign_id)s, 'crm-' || i, '+1415' || lpad(i::text, 7, '0'), 1,
       jsonb_build_object('first_name', (array['Ana', 'Rui', 'Eva'])[1 + i %% 3], 'plan', 'pro'),
       s.status, %(now)s - (i %% 600) * interval '1 minute',
       case when s.status = 'completed' then i %% 2 = 0 end,
       case when s.status <> 'created' then 'no-answer' end,
       %(now)s, %(now)s
from generate_series(1, %(leads)s) i
cross join lateral (select case
    when i %% 100 < 40 then 'created' when i %% 100 < 60 then 'rescheduled'
    when i %% 100 < 85 then 'completed' when i %% 100 < 95 then 'max_retries'
    when i %% 100 < 98 then 'scheduled' else 'processing' end as status) s;

insert into outcall_attempts (campaign_id, lead_id, cycle, round, contact_index, to_number, from_number,
                              started_at, call_sid, call_status, answered_by, duration_s, price,
                              price_unit, variables, outcome, outcome_reason, judged_at)
select l.campaign_id, l.id, 1, 1, 0, l.phone_number, '+14155550100',
       %(now)s - (l.id %% 4320) * interval '1 minute', 'CA' || md5(l.id::text), c.status,
       case when c.status = 'completed' then 'human' end,
       case when c.status = 'completed' then 60 end,
       case when c.status = 'completed' then -0.013 end,
       case when c.status = 'completed' then 'USD' end,
       case when c.status = 'completed' then '{"appointment_booked": true}'::jsonb end,
       'retry', c.status, %(now)s
from (select id, campaign_id, phone_number from outcall_leads
      where campaign_id = %(campaign_id)s and status <> 'created' order by id limit %(attempts)s) l
cross join lateral (select (array['completed', 'busy', 'no-answer', 'completed'])[1 + l.id %% 4] as status) c;
"""


def build(hook, leads: int) -> None:
    from outcall_provider.campaign_files import find_campaign

    campaign = find_campaign("example")
    campaign_id = hook.upsert_campaign(campaign, NOW)
    t = time.perf_counter()
    with hook.db.cursor() as cur:
        params = {"campaign_id": campaign_id, "leads": leads, "attempts": leads * 3 // 10, "now": NOW}
        for statement in BUILD_SQL.split(";\n"):
            if statement.strip():
                cur.execute(statement, params)
    hook.db.commit()
    hook.db.autocommit = True
    with hook.db.cursor() as cur:  # what autovacuum does after a bulk load
        cur.execute("vacuum analyze outcall_leads")
        cur.execute("vacuum analyze outcall_attempts")
    hook.db.autocommit = False
    print(f"built {leads:,} leads in {time.perf_counter() - t:.1f} s", file=sys.stderr)


def median_ms(fn) -> float:
    fn()  # warm the caches once, as a page that is in use is
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        json.dumps(fn(), default=str)
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def measure(hook) -> dict:
    from outcall_provider.api import views

    campaign = views.campaign_by_name(hook, "example")
    return {
        "list_ms": median_ms(lambda: views.campaign_list(hook, NOW, dag_states={})),
        "leads_page_ms": median_ms(lambda: views.lead_page(hook, campaign, limit=50)),
        "filtered_leads_page_ms": median_ms(
            lambda: views.lead_page(hook, campaign, status="rescheduled", limit=50)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--pg-url", help="libpq URL of an empty outcall database (default: a throw-away cluster)")
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    with contextlib.ExitStack() as stack:
        if args.pg_url:
            url = args.pg_url
        else:
            import pgcluster

            url = stack.enter_context(pgcluster.temporary_cluster()) + "/outcall"
        os.environ["AIRFLOW_CONN_OUTCALL_DB"] = url
        from outcall_provider.hooks.campaign import CampaignHook

        hook = CampaignHook()
        build(hook, args.leads)
        figures = measure(hook)
        hook.close()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
