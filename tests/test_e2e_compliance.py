"""Compliance under the real scheduler, dag processor and triggerer (issue 12), the sandbox's
call log as the witness. outcall's clock replays Monday 2026-11-30 from 10:57 New York time
(OUTCALL_NOW + OUTCALL_NOW_SINCE); Airflow keeps the real one.

- A campaign on New York time with leads in New York and California: the New York ones are
  dialed at once, no California number before 08:00 California time (11:00 New York).
- A number opted out in one campaign is never dialed by a second campaign.
- Three campaigns sharing a number respect a cap of 2 calls per 24 h.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import yaml
from airflow_stack import airflow_stack
from test_e2e_campaign import ROOT, wait_for

from sandbox import Sandbox

REPLAY_FROM = datetime(2026, 11, 30, 15, 57, tzinfo=timezone.utc)  # Monday 10:57 New York, 07:57 California
CA_OPENS = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)      # 08:00 California
NY = ["+12125550101", "+12125550102"]    # row 0 of the sandbox: answered, goal met
CA = ["+14155550103", "+14155550104"]
OPTED_OUT, OTHER = "+13125550105", "+13125550106"
SHARED = "+16175550107"


def campaign(folder, name: str, numbers: list[str], compliance: dict | None = None, opt_out: bool = False) -> None:
    spec = yaml.safe_load((ROOT / "include" / "campaigns" / "example.yaml").read_text())
    spec.update(name=name, max_calls_in_parallel=3, leads={"csv": f"{name}.csv"})
    spec["schedule"] = {"hours": "09:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    spec["retry"] = {"max_attempts": 1, "interval_minutes": 10, "on_voicemail": False}
    spec["compliance"] = compliance or {}
    if opt_out:
        spec["assistant"]["post_call_variables"]["do_not_call"] = "boolean"
        spec["compliance"]["opt_out_variable"] = "do_not_call"
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    rows = "".join(f"{n},{name}-{i}\n" for i, n in enumerate(numbers))
    (folder / f"{name}.csv").write_text("phone_number,external_id\n" + rows)


def test_compliance_under_the_real_scheduler(pg_url, hook, tmp_path, assistant_results):
    folder = tmp_path / "campaigns"
    folder.mkdir()
    campaign(folder, "nyca", NY + CA)
    campaign(folder, "opt_a", [OPTED_OUT], opt_out=True)
    campaign(folder, "opt_b", [OPTED_OUT, OTHER], opt_out=True)
    cap = {"max_calls_per_number": {"calls": 2, "per": "24h"}}
    for name in ("cap_1", "cap_2", "cap_3"):
        campaign(folder, name, [SHARED], compliance=dict(cap))

    def deliver(call_sid, variables):  # the assistant's results; the opted-out callee says so
        to = sb.call(call_sid)["to"]
        assistant_results(call_sid, {**variables, "do_not_call": to == OPTED_OUT})

    started = time.time()
    replay = {"OUTCALL_NOW": REPLAY_FROM.isoformat(), "OUTCALL_NOW_SINCE": str(started)}
    ca_opens_real = started + (CA_OPENS - REPLAY_FROM).total_seconds()
    with Sandbox(cps=10, time_scale=60, variables_delay=0.1, on_variables=deliver) as sb, \
            airflow_stack(pg_url, campaigns_dir=folder, twilio=(sb.config.account_sid, sb.config.auth_token, sb.url),
                          scheduler=True, dag_processor=True, tick_seconds=2,
                          extra_env={"OUTCALL_TICK_SECONDS": "900", **replay}) as stack:
        api = httpx.Client(base_url=stack.url, headers=stack.headers(), timeout=30)

        def unpause(name: str) -> None:
            wait_for(f"campaign_{name} to be parsed",
                     lambda: api.get(f"/api/v2/dags/campaign_{name}").status_code == 200, 180)
            api.patch(f"/api/v2/dags/campaign_{name}", json={"is_paused": False}).raise_for_status()

        def calls_to(number: str) -> int:
            return len(sb.calls(number))

        for name in ("nyca", "opt_a", "cap_1", "cap_2", "cap_3"):
            unpause(name)

        # New York is open at once; California is before 08:00 until CA_OPENS.
        wait_for("the New York leads to be called", lambda: all(calls_to(n) for n in NY), 180)
        assert time.time() < ca_opens_real, "the stack was too slow to show the California hold"
        while time.time() < ca_opens_real - 2:
            assert not any(calls_to(n) for n in CA), "a California number was dialed before 08:00 its time"
            time.sleep(1)
        wait_for("the California leads to be called once their 08:00 has come",
                 lambda: all(calls_to(n) for n in CA), 240)
        for number in CA:
            [attempt] = attempts_to(hook, number)
            assert attempt["started_at"] >= CA_OPENS
            assert attempt["audit"]["local_times"]["America/Los_Angeles"].startswith("2026-11-30 08:")

        # The opt-out in opt_a reaches opt_b, a campaign started after it.
        wait_for("the opt-out to be on the do-not-call list", lambda: hook.is_suppressed(OPTED_OUT), 180)
        unpause("opt_b")
        wait_for("opt_b to call its other lead", lambda: calls_to(OTHER) == 1, 180)
        wait_for("opt_b to end the opted-out lead",
                 lambda: lead_status(hook, "opt_b", "opt_b-0") == "max_retries", 120)
        assert calls_to(OPTED_OUT) == 1, "the opted-out number was dialed by a second campaign"

        # Three campaigns, one number, 2 calls per 24 h: the third waits a day, it does not fail.
        wait_for("two campaigns to call the shared number", lambda: calls_to(SHARED) == 2, 180)
        wait_for("the third campaign's lead to be deferred", lambda: deferred(hook, SHARED), 180)
        time.sleep(10)
        assert calls_to(SHARED) == 2, "the cap of 2 calls per 24 h was exceeded"


def attempts_to(hook, number: str) -> list[dict]:
    with hook.db.cursor() as cur:
        cur.execute("select started_at, audit from outcall_attempts where to_number = %s", (number,))
        rows = [{"started_at": r[0], "audit": r[1]} for r in cur.fetchall()]
    hook.db.commit()
    return rows


def lead_status(hook, campaign_name: str, external_id: str) -> str | None:
    with hook.db.cursor() as cur:
        cur.execute("select l.status from outcall_leads l join outcall_campaigns c on c.id = l.campaign_id "
                    "where c.name = %s and l.external_id = %s", (campaign_name, external_id))
        row = cur.fetchone()
    hook.db.commit()
    return row[0] if row else None


def deferred(hook, number: str) -> bool:
    """A waiting lead of this number due a day after the first call to it."""
    with hook.db.cursor() as cur:
        cur.execute("select min(started_at) from outcall_attempts where to_number = %s", (number,))
        first = cur.fetchone()[0]
        cur.execute("select due_at from outcall_leads where phone_number = %s and status in ('created', 'rescheduled')",
                    (number,))
        due = [r[0] for r in cur.fetchall()]
    hook.db.commit()
    return first is not None and len(due) == 1 and due[0] >= first + timedelta(hours=24) - timedelta(seconds=1)
