"""The dialer's compliance checks against the sandbox (issue 12): at claim and right before each
call, with what allowed each call recorded on its attempt."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from zoneinfo import ZoneInfo

from outcall_provider.rules.callee_time import RecipientHours
from outcall_provider.rules.compliance import Compliance, FrequencyCap
from tests.operators.conftest import attempts, lead_row, settle

HEADER = "phone_number,secondary_phone_1,external_id,first_name\n"
LA = ZoneInfo("America/Los_Angeles")


def _this_weeks_monday_in_la(hour: int, minute: int, second: int = 0) -> datetime:
    """A moment of this week's Monday in California, in UTC: near the real clock (the sandbox's
    calls carry real times), on any date and in summer or winter time alike."""
    today = datetime.now(LA).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, dtime(hour, minute, second), LA).astimezone(timezone.utc)


MONDAY_0759_LA = _this_weeks_monday_in_la(7, 59, 30)  # 10:59:30 New York
MONDAY_0800_LA = _this_weeks_monday_in_la(8, 0)


class MovableClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def comply(engine, **settings):
    """The engine's campaign with these compliance settings (federal hours unless given)."""
    engine.campaign = dataclasses.replace(engine.campaign, compliance=Compliance(**settings))
    return engine


def claim(engine, limit: int = 100):
    return engine.store.claim_due_leads(engine.campaign_id, engine.clock(), limit,
                                        **engine.gate.claim_filter(engine.clock()))


def dial_due(engine):
    return engine.dial(claim(engine))


def test_a_number_on_a_do_not_call_list_is_never_dialed(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550140,+14155550141,dnc1,A\n+14155550142,,dnc2,B\n")
    comply(engine, recipient_hours=None, reason="test")
    hook.dnc_add(["+14155550140", "+14155550142"], "hand", "a test", engine.clock())

    report = dial_due(engine)
    assert (report.suppressed, report.placed) == (2, 0)
    assert lead_row(hook, "dnc2")["status"] == "max_retries"
    assert lead_row(hook, "dnc2")["last_outcome"] == "do_not_call"
    assert (lead_row(hook, "dnc1")["status"], lead_row(hook, "dnc1")["contact_index"]) == ("rescheduled", 1)
    assert dial_due(engine).placed == 1  # the lead's other number is not on the list
    assert [c["to"] for c in sandbox.calls()] == ["+14155550141"]


def test_a_number_listed_while_its_lead_waits_in_the_queue_is_not_called(hook, make_engine, sandbox):
    engine = comply(make_engine(HEADER + "+14155550143,,q1,Q\n"), recipient_hours=None, reason="test")
    leads = claim(engine)
    assert [lead.suppressed for lead in leads] == [False]
    hook.dnc_add(["+14155550143"], "hand", "added while the lead was queued", engine.clock())
    report = engine.dial(leads)
    assert (report.held, report.placed) == (1, 0)
    assert attempts(hook, "q1") == []  # the attempt written before the check is gone: no call
    assert dial_due(engine).suppressed == 1
    assert sandbox.calls() == []


def test_callee_hours_hold_california_until_its_0800_in_the_claim_and_before_the_call(hook, make_engine, sandbox):
    clock = MovableClock(MONDAY_0759_LA)
    engine = comply(make_engine(HEADER + "+12125550144,,ny,N\n+14155550145,,ca,C\n", clock=clock))

    assert [lead.external_id for lead in claim(engine)] == ["ny"]
    # A lead claimed by a dialer without the gate (or just before the hour turned) is checked
    # again right before its call.
    [ca] = engine.store.claim_due_leads(engine.campaign_id, clock(), 10)
    report = engine.dial([ca])
    assert (report.held, report.placed) == (1, 0)
    assert sandbox.calls("+14155550145") == []
    assert lead_row(hook, "ca")["status"] == "created"

    clock.at = MONDAY_0800_LA  # 08:00 in California
    assert dial_due(engine).placed == 1
    [attempt] = audits(hook, "ca")
    local_0800 = MONDAY_0800_LA.astimezone(LA).strftime("%Y-%m-%d %H:%M:%S %Z")
    assert attempt["local_times"]["America/Los_Angeles"] == local_0800
    assert attempt["zones"] == ["America/Los_Angeles"] and attempt["states"] == ["CA"]
    assert attempt["recipient_hours"] == "08:00-21:00"
    assert attempt["caller_id"]["number"] == "+14155550100"
    assert attempt["dnc"]["suppressed"] is False and isinstance(attempt["dnc"]["list_version"], int)


def test_a_frequency_cap_counts_calls_from_every_campaign_and_defers_the_lead(hook, make_engine, sandbox):
    first = make_engine(HEADER + "+14155550146,,cap_a,A\n", name="cap_a")
    second = make_engine(HEADER + "+14155550146,,cap_b,B\n", name="cap_b")
    cap = FrequencyCap(1, timedelta(hours=24), "campaign")
    for engine in (first, second):
        comply(engine, recipient_hours=None, reason="test", max_calls_per_number=cap)
    assert dial_due(first).placed == 1
    report = dial_due(second)
    assert (report.capped, report.placed) == (1, 0)
    assert len(attempts(hook, "cap_a")) == 1
    started = started_at(hook, "cap_a")
    lead = lead_row(hook, "cap_b")
    assert lead["status"] == "created"
    assert due_at(hook, "cap_b") == started + timedelta(hours=24)
    assert len(sandbox.calls("+14155550146")) == 1
    assert audits(hook, "cap_a")[0]["frequency"] == [{"calls_before": 0, "cap": "1 call per 24h (campaign)"}]


def test_an_opt_out_lists_the_number_completes_the_lead_and_stops_every_campaign(hook, make_engine, sandbox):
    # 6xxx: the sandbox's variables come late, so the assistant's opt-out is there when judging
    first = make_engine(HEADER + "+14155556147,,out_a,A\n", name="out_a")
    assistant = dataclasses.replace(first.campaign.assistant, post_call_variables={
        **first.campaign.assistant.post_call_variables, "do_not_call": "boolean"})
    first.campaign = dataclasses.replace(first.campaign, assistant=assistant)
    comply(first, recipient_hours=None, reason="test", opt_out_variable="do_not_call")
    assert dial_due(first).placed == 1
    [call] = sandbox.calls("+14155556147")
    hook.set_call_variables(call["sid"], {"do_not_call": True}, datetime.now(timezone.utc))
    settle(first, lambda: lead_row(hook, "out_a")["status"] == "completed")
    assert lead_row(hook, "out_a")["last_outcome"] == "opted_out"
    assert [e["list"] for e in hook.dnc_entries("+14155556147")] == ["opt-out"]
    assert call["sid"] in hook.dnc_entries("+14155556147")[0]["source"]

    second = comply(make_engine(HEADER + "+14155556147,,out_b,B\n", name="out_b"), recipient_hours=None,
                    reason="test")
    assert dial_due(second).suppressed == 1
    assert len(sandbox.calls("+14155556147")) == 1


def test_a_caller_id_pool_takes_turns_and_a_lost_call_is_found_from_its_own_number(hook, make_engine, sandbox):
    sandbox.config.phone_numbers.append("+12125550100")
    engine = make_engine(HEADER + "+14155550148,,p1,A\n+14155550149,,p2,B\n+12125550150,,p3,C\n")
    pool = dataclasses.replace(engine.campaign.assistant, phone_numbers=("+14155550100", "+12125550100"),
                               caller_id="round_robin")
    engine.campaign = dataclasses.replace(engine.campaign, assistant=pool)
    comply(engine, recipient_hours=None, reason="test")
    engine.dial(claim(engine, 2))
    assert sorted(c["from"] for c in sandbox.calls()) == ["+12125550100", "+14155550100"]

    # `local`: the New York lead is called from the New York number. Its create's answer is lost
    # (the call exists): it is found by listing the calls from the number the attempt recorded,
    # never by dialing again.
    engine.campaign = dataclasses.replace(engine.campaign, assistant=dataclasses.replace(pool, caller_id="local"))
    sandbox.set_faults(rates={"create_500_after_create": 1.0})
    report = engine.dial(claim(engine))
    sandbox.set_faults()
    assert report.placed + report.unresolved == 1
    engine.orphan_grace = timedelta(0)
    settle(engine, lambda: all(a["call_sid"] for a in attempts(hook, "p3")))
    [call] = sandbox.calls("+12125550150")
    assert call["from"] == "+12125550100"
    assert [a["call_sid"] for a in attempts(hook, "p3")] == [call["sid"]]
    assert audits(hook, "p3")[0]["caller_id"]["why"].startswith("local: area code 212")


def test_every_caller_id_at_its_daily_cap_defers_the_lead_to_tomorrow(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550151,,d1,A\n+14155550152,,d2,B\n")
    assistant = dataclasses.replace(engine.campaign.assistant, caller_id_daily_cap=1)
    engine.campaign = dataclasses.replace(engine.campaign, assistant=assistant)
    comply(engine, recipient_hours=None, reason="test")
    report = dial_due(engine)
    assert (report.placed, report.capped) == (1, 1)
    waiting = next(x for x in ("d1", "d2") if lead_row(hook, x)["status"] == "created")
    assert due_at(hook, waiting) == engine.gate.next_day_start(engine.clock())
    assert len(sandbox.calls()) == 1


def test_recipient_hours_narrowed_by_the_campaign_hold_a_new_york_lead(hook, make_engine, sandbox):
    clock = MovableClock(MONDAY_0759_LA)  # 10:59:30 in New York
    engine = comply(make_engine(HEADER + "+12125550153,,narrow,N\n", clock=clock),
                    recipient_hours=RecipientHours.parse("11:00-20:00"))
    assert claim(engine) == []
    clock.at += timedelta(seconds=30)
    assert [lead.external_id for lead in claim(engine)] == ["narrow"]


def audits(hook, external_id: str) -> list[dict]:
    return [row[0] for row in _query(hook, "select a.audit from outcall_attempts a join outcall_leads l "
                                            "on l.id = a.lead_id where l.external_id = %s order by a.id",
                                     external_id)]


def started_at(hook, external_id: str) -> datetime:
    return _query(hook, "select a.started_at from outcall_attempts a join outcall_leads l on l.id = a.lead_id "
                        "where l.external_id = %s", external_id)[0][0]


def due_at(hook, external_id: str) -> datetime:
    return _query(hook, "select due_at from outcall_leads where external_id = %s", external_id)[0][0]


def _query(hook, text: str, *args) -> list[tuple]:
    with hook.db.cursor() as cur:
        cur.execute(text, args)
        rows = cur.fetchall()
    hook.db.commit()
    return rows


def test_the_audit_stays_when_a_person_resets_the_lead(hook, make_engine, sandbox):
    engine = comply(make_engine(HEADER + "+14155550154,,kept,K\n"), recipient_hours=None, reason="a test reason")
    assert dial_due(engine).placed == 1
    settle(engine, lambda: lead_row(hook, "kept")["status"] == "completed")
    hook.set_lead_status(engine.campaign_id, lead_row(hook, "kept")["id"], "created", engine.clock())
    assert dial_due(engine).placed == 1
    first, second = audits(hook, "kept")
    assert first["recipient_hours_off"] == second["recipient_hours_off"] == "a test reason"
    assert first["checked_at"] < second["checked_at"]


def test_the_next_due_moment_waits_for_the_callee_hours_and_is_none_when_all_is_done(hook, make_engine, sandbox):
    """The idle dialer and its trigger wake at the next due moment: for a lead held by its callee's
    hours, when those open; with every lead done, never (the dialer is idle, not waiting)."""
    clock = MovableClock(MONDAY_0759_LA)
    engine = comply(make_engine(HEADER + "+14155550155,,ca_next,C\n", clock=clock))
    assert engine.store.next_due_at(engine.campaign_id, engine.gate.next_due_filter(clock())) == \
        MONDAY_0800_LA  # 08:00 in California
    clock.at = MONDAY_0800_LA
    assert dial_due(engine).placed == 1
    settle(engine, lambda: lead_row(hook, "ca_next")["status"] in ("completed", "max_retries", "rescheduled"))
    hook.set_lead_status(engine.campaign_id, lead_row(hook, "ca_next")["id"], "completed", clock())
    assert engine.store.next_due_at(engine.campaign_id, engine.gate.next_due_filter(clock())) is None
    report = engine.dial([], deadline=clock() + timedelta(minutes=10), refill=True)
    assert report.idle


def test_a_lead_whose_numbers_share_no_hour_is_skipped_by_the_idle_dialer(hook, make_engine, sandbox):
    """Bug: a lead with a New York, a UK and a Guam number (08:00-21:00 never holds in all three)
    made the gate's next_due_filter raise ValueError, so every dialer of the store failed each time
    it went idle. It is skipped: the other leads' next due moment stands, and the dialer idles."""
    clock = MovableClock(MONDAY_0759_LA)
    engine = comply(make_engine(HEADER.replace("first_name", "secondary_phone_2")
                                + "+14155550158,,ca_wait,\n"
                                + "+12125550159,+442071838750,nowhere_at_once,+16715550159\n", clock=clock))
    assert engine.store.next_due_at(engine.campaign_id, engine.gate.next_due_filter(clock())) == \
        MONDAY_0800_LA  # 08:00 in California
    report = engine.dial([], deadline=clock() + timedelta(seconds=20), refill=True)
    assert report.idle and report.placed == 0
    assert claim(engine) == []
    # its own hold reason, as `outcall preview --json` prints it
    [facts] = [f for f in hook.hold_facts(engine.campaign_id, **engine.gate.hold_params(clock()))
               if f["external_id"] == "nowhere_at_once"]
    assert [code.value for code, _ in engine.gate.reasons(facts, clock())] == ["no_common_hour"]

    clock.at = MONDAY_0800_LA
    assert [lead.external_id for lead in claim(engine)] == ["ca_wait"]
    assert engine.store.next_due_at(engine.campaign_id, engine.gate.next_due_filter(clock())) is None
    assert sandbox.calls("+12125550159") == []
