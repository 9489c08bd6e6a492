"""The call engine against the sandbox through the real twilio client: one test per path."""
from __future__ import annotations

import dataclasses
import time
from datetime import time as clock_time
from decimal import Decimal

import pytest

from tests.operators.conftest import attempts, lead_row, settle

HEADER = "phone_number,secondary_phone_1,external_id,first_name\n"


def dial_due(engine):
    leads = engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 100)
    return engine.dial(leads)


def settle_prices(engine, hook, external_ids, timeout: float = 30.0):
    def priced():
        return all(a["price"] is not None for x in external_ids for a in attempts(hook, x))

    deadline = time.time() + timeout
    while not priced() and time.time() < deadline:
        engine.reconcile()
        time.sleep(0.2)
    assert priced(), "prices did not arrive"


def terminal_or_waiting(hook, external_id):
    return lambda: lead_row(hook, external_id)["status"] in ("completed", "max_retries", "rescheduled")


def test_person_answers_and_goal_is_met(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550123,,a,Ana\n")
    assert dial_due(engine).placed == 1
    settle(engine, terminal_or_waiting(hook, "a"))
    lead = lead_row(hook, "a")
    assert (lead["status"], lead["goal_met"], lead["last_outcome"]) == ("completed", True, "goal_met")
    settle_prices(engine, hook, ["a"])  # Twilio fills the price in a few seconds after the end
    (attempt,) = attempts(hook, "a")
    assert attempt["call_status"] == "completed" and attempt["answered_by"] == "human"
    assert attempt["duration_s"] > 0 and attempt["price"] < 0
    assert attempt["variables"]["appointment_booked"] is True
    assert [c["sid"] for c in sandbox.calls()] == [attempt["call_sid"]]


def test_goal_not_met_is_retried_next_round_then_max_retries(hook, make_engine):
    engine = make_engine(HEADER + "+14155551123,,b,Bruno\n")
    dial_due(engine)
    settle(engine, terminal_or_waiting(hook, "b"))
    lead = lead_row(hook, "b")
    assert (lead["status"], lead["round"], lead["last_outcome"]) == ("rescheduled", 2, "goal_not_met")
    assert dial_due(engine).placed == 0  # not due before interval_minutes
    engine.clock.advance(10)
    assert dial_due(engine).placed == 1
    settle(engine, lambda: lead_row(hook, "b")["status"] == "max_retries")
    assert [a["outcome_reason"] for a in attempts(hook, "b")] == ["goal_not_met", "goal_not_met"]


def test_voicemail_without_on_voicemail_completes(hook, make_engine):
    engine = make_engine(HEADER + "+14155552123,,c,Carla\n", on_voicemail=False)
    dial_due(engine)
    settle(engine, terminal_or_waiting(hook, "c"))
    assert lead_row(hook, "c")["status"] == "completed"
    (attempt,) = attempts(hook, "c")
    assert attempt["answered_by"].startswith("machine_") and attempt["outcome_reason"] == "voicemail_left"


def test_voicemail_with_on_voicemail_is_retried(hook, make_engine):
    engine = make_engine(HEADER + "+14155552124,,d,Diego\n", on_voicemail=True)
    dial_due(engine)
    settle(engine, terminal_or_waiting(hook, "d"))
    lead = lead_row(hook, "d")
    assert (lead["status"], lead["round"], lead["last_outcome"]) == ("rescheduled", 2, "voicemail")


@pytest.mark.parametrize("number, status", [("+14155553123", "busy"), ("+14155554123", "no-answer"),
                                            ("+14155555123", "failed")])
def test_unanswered_calls_are_retried(hook, make_engine, number, status):
    engine = make_engine(HEADER + f"{number},,e,Eva\n")
    dial_due(engine)
    settle(engine, terminal_or_waiting(hook, "e"))
    lead = lead_row(hook, "e")
    assert (lead["status"], lead["round"], lead["last_outcome"]) == ("rescheduled", 2, status)
    assert attempts(hook, "e")[0]["call_status"] == status


def test_secondary_contact_is_dialed_right_after_the_primary_fails(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155553125,+14155550125,f,Filipe\n")
    dial_due(engine)
    settle(engine, lambda: lead_row(hook, "f")["contact_index"] == 1)
    assert lead_row(hook, "f")["status"] == "rescheduled"
    assert dial_due(engine).placed == 1  # due at once, same round, no interval
    settle(engine, terminal_or_waiting(hook, "f"))
    assert lead_row(hook, "f")["status"] == "completed"
    assert [(a["round"], a["contact_index"], a["to_number"]) for a in attempts(hook, "f")] == [
        (1, 0, "+14155553125"), (1, 1, "+14155550125")]
    assert [c["to"] for c in sandbox.calls()] == ["+14155553125", "+14155550125"]


def test_max_retries_after_the_last_round(hook, make_engine):
    engine = make_engine(HEADER + "+14155554126,,g,Gabi\n", max_attempts=2)
    for _ in range(2):
        dial_due(engine)
        settle(engine, lambda: lead_row(hook, "g")["status"] != "processing")
        engine.clock.advance(10)
    assert lead_row(hook, "g")["status"] == "max_retries"
    assert [a["round"] for a in attempts(hook, "g")] == [1, 2]
    assert dial_due(engine).placed == 0


def test_lead_set_back_to_created_is_called_again(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550127,,h,Hugo\n")
    dial_due(engine)
    settle(engine, terminal_or_waiting(hook, "h"))
    assert lead_row(hook, "h")["status"] == "completed"
    hook.set_lead_status(engine.campaign_id, lead_row(hook, "h")["id"], "created", engine.clock())
    assert dial_due(engine).placed == 1
    settle(engine, terminal_or_waiting(hook, "h"))
    assert [a["cycle"] for a in attempts(hook, "h")] == [1, 2]
    assert len(sandbox.calls()) == 2


def test_late_variables_wait_within_the_grace_period(hook, make_engine):
    engine = make_engine(HEADER + "+14155556123,,i,Iris\n")
    dial_due(engine)
    settle(engine, terminal_or_waiting(hook, "i"))
    lead = lead_row(hook, "i")
    assert (lead["status"], lead["goal_met"]) == ("completed", True)  # arrived 1.5 s late, within 2 s


def test_invalid_number_is_marked_and_not_retried(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+15555550100,+14155550128,j,Joao\n".replace("+15555550100", "+19005550100"))
    report = dial_due(engine)
    assert report.skipped_invalid == 1
    lead = lead_row(hook, "j")
    assert (lead["status"], lead["contact_index"]) == ("rescheduled", 1)
    dial_due(engine)
    settle(engine, terminal_or_waiting(hook, "j"))
    engine.clock.advance(10)
    assert dial_due(engine).placed == 0  # the refused primary is skipped, not dialed again
    assert [c["to"] for c in sandbox.calls()] == ["+14155550128"]


def test_never_more_calls_in_flight_than_allowed(hook, make_engine, sandbox):
    rows = "".join(f"+1415555{i:04d},,k{i},K\n" for i in range(100, 112))  # 0xxx: answered, 3-min calls
    engine = make_engine(HEADER + rows)
    leads = engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 100)
    report = engine.dial(leads)
    assert report.placed == 12
    calls = sorted(sandbox.calls(), key=lambda c: c["created_at"])
    # at any call's creation, at most max_calls_in_parallel (3) calls had not ended, itself included
    for c in calls:
        live = [o for o in calls if o["created_at"] <= c["created_at"] < o["ended_at"]]
        assert len(live) <= 3
    assert max(len([o for o in calls if o["created_at"] <= c["created_at"] < o["ended_at"]]) for c in calls) == 3


def test_429_is_retried_with_backoff(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550129,,l,Luis\n")
    sandbox.set_faults(status_429=2, endpoint="calls.create")
    assert dial_due(engine).placed == 1
    assert len(sandbox.calls()) == 1
    assert sandbox.stats()["responses"]["calls.create 429"] == 2


@pytest.mark.parametrize("fault", [{"status_500": 1}, {"timeout": 1, "timeout_seconds": 2}])
def test_lost_answer_after_create_is_found_by_listing_not_by_dialing_again(hook, make_engine, sandbox, fault):
    engine = make_engine(HEADER + "+14155550130,,m,Maria\n")
    sandbox.set_faults(after_create=True, **fault)
    assert dial_due(engine).placed == 1
    (call,) = sandbox.calls()
    assert attempts(hook, "m")[0]["call_sid"] == call["sid"]
    settle(engine, terminal_or_waiting(hook, "m"))
    assert lead_row(hook, "m")["status"] == "completed"


def test_a_lost_answer_is_never_followed_by_a_second_create(hook, make_engine, sandbox):
    """Point 1: a 5xx (here: no call was made) leaves the attempt unresolved; the lead is made
    due again only after the orphan grace, and then dialed once."""
    engine = make_engine(HEADER + "+14155550131,,n,Nuno\n")
    sandbox.set_faults(status_500=1, endpoint="calls.create")
    report = dial_due(engine)
    assert (report.placed, report.unresolved) == (0, 1)
    assert sandbox.stats()["requests"]["calls.create"] == 1  # no second create in the same breath
    for minutes in (0, 4, 5):  # 0, 4, 9 minutes on: still looked for, never dialed again
        engine.clock.advance(minutes)
        assert engine.reconcile().orphans_waiting == 1
        assert dial_due(engine).placed == 0
        assert lead_row(hook, "n")["status"] == "processing"
    engine.clock.advance(2)  # past ORPHAN_GRACE (10 minutes): no call exists, the lead is due again
    assert engine.reconcile().orphans_not_placed == 1
    assert dial_due(engine).placed == 1
    assert len(sandbox.calls()) == 1 and sandbox.stats()["requests"]["calls.create"] == 2


def fill_cps_queue(sandbox, seconds: float) -> None:
    """Calls from another caller ID of the account, so that the next call waits in the queue."""
    for i in range(int(seconds * 50)):  # the fixture's sandbox runs at 50 CPS
        sandbox.create_call(To=f"+1415555{4000 + i % 1000:04d}", From="+14155550100",
                            Url="https://assistant.example.com/voice")


@pytest.mark.parametrize("fault", [{"status_500": 1}, {"timeout": 1, "timeout_seconds": 2}])
def test_a_queued_call_whose_answer_was_lost_is_found_not_dialed_again(hook, make_engine, sandbox, fault):
    """Point 1: a call still waiting in Twilio's CPS queue has no start_time; it is found by
    date_created (the dialer's look right after the lost answer), not by StartTime."""
    engine = make_engine(HEADER + "+14155550134,,q,Quim\n")
    fill_cps_queue(sandbox, 8)
    sandbox.set_faults(after_create=True, **fault)
    assert dial_due(engine).placed == 1
    call = next(c for c in sandbox.calls() if c["to"] == "+14155550134")
    assert call["status"] == "queued" and call["started_at"] is None  # Twilio as it really behaves
    assert attempts(hook, "q")[0]["call_sid"] == call["sid"]
    time.sleep(1.5)  # a hung create has been answered (dropped) by now
    assert len([c for c in sandbox.calls() if c["to"] == "+14155550134"]) == 1


def test_an_orphan_queued_call_is_bound_by_reconciliation(hook, make_engine, sandbox):
    """Point 1: the dialer's own look fails too (the list answers 500); reconciliation binds
    the queued call later, by date_created, and nothing is dialed twice."""
    engine = make_engine(HEADER + "+14155550135,,r,Rita\n")
    fill_cps_queue(sandbox, 8)
    sandbox.set_faults(status_500=1, endpoint="calls.list", rates={"create_500_after_create": 1.0})
    report = dial_due(engine)
    assert (report.placed, report.unresolved) == (0, 1)
    sandbox.set_faults()
    assert engine.reconcile().orphans_bound == 1
    (attempt,) = attempts(hook, "r")
    (call,) = [c for c in sandbox.calls() if c["to"] == "+14155550135"]
    assert attempt["call_sid"] == call["sid"]
    settle(engine, terminal_or_waiting(hook, "r"), timeout=30)
    assert lead_row(hook, "r")["status"] == "completed"
    assert len([c for c in sandbox.calls() if c["to"] == "+14155550135"]) == 1


def test_an_account_problem_stops_the_dialer_and_blames_no_number(hook, make_engine, sandbox):
    """Point 3: a caller ID the account does not own (21210) places zero calls, marks zero
    numbers invalid, leaves every lead as it was and fails with the code and the fix."""
    from outcall_provider.hooks.twilio import TwilioAccountError

    engine = make_engine(HEADER + "+14155550136,,s1,S\n+14155550137,,s2,S\n+14155550138,,s3,S\n")
    engine.campaign = dataclasses.replace(
        engine.campaign, assistant=dataclasses.replace(engine.campaign.assistant, phone_numbers=("+14155550199",)))
    with pytest.raises(TwilioAccountError, match=r"21210.*assistant.phone_number"):
        dial_due(engine)
    assert sandbox.calls() == []
    assert [lead_row(hook, f"s{i}")["status"] for i in (1, 2, 3)] == ["created"] * 3
    with hook.db.cursor() as cur:
        cur.execute("select count(*) from outcall_leads where phone_invalid_reason is not null")
        assert cur.fetchone()[0] == 0
        cur.execute("select count(*) from outcall_attempts")
        assert cur.fetchone()[0] == 0
    hook.db.commit()


def invalid_reasons(hook, external_id: str) -> tuple:
    with hook.db.cursor() as cur:
        cur.execute("select l.phone_invalid_reason, array(select c.invalid_reason from outcall_contacts c "
                    "where c.lead_id = l.id order by c.position) from outcall_leads l where l.external_id = %s",
                    (external_id,))
        found = cur.fetchone()
    hook.db.commit()
    return found


GEO_REASON = "Twilio 21215: the account's geographic permissions do not allow this destination"


def test_a_geo_permission_refusal_skips_the_contact_and_the_dialer_goes_on(hook, make_engine, sandbox):
    """21215 refuses one destination (+44, outside the account's geo permissions), not the
    account: that contact is skipped with a reason of its own, the lead goes on to its next
    contact, and the other leads are dialed."""
    engine = make_engine(HEADER + "+447911123456,+14155550150,g1,Gil\n+14155550151,,g2,G\n+14155550152,,g3,G\n")
    report = dial_due(engine)
    assert (report.placed, report.skipped_destination) == (2, 1)
    lead = lead_row(hook, "g1")
    assert (lead["status"], lead["contact_index"], lead["last_outcome"]) == ("rescheduled", 1, "destination_refused")
    assert invalid_reasons(hook, "g1") == (GEO_REASON, [None])  # not "invalid number": a reason of its own
    (attempt,) = attempts(hook, "g1")
    assert (attempt["outcome_reason"], attempt["call_sid"]) == ("destination_refused", None)
    assert dial_due(engine).placed == 1  # its secondary number
    assert sorted(c["to"] for c in sandbox.calls()) == ["+14155550150", "+14155550151", "+14155550152"]


def test_every_call_of_a_batch_refused_alike_fails_the_dial_naming_the_code_and_the_fix(hook, make_engine, sandbox):
    """When every call of a dial batch is refused with the same per-destination code, the
    account probably lacks the permission for everything it dials: the dial fails loudly, after
    skipping those contacts like any other refusal."""
    from outcall_provider.exceptions import DestinationsRefused, TwilioAccountError

    engine = make_engine(HEADER + "+447911123456,,x1,X\n+447911123457,,x2,X\n+447911123458,,x3,X\n")
    with pytest.raises(DestinationsRefused) as error:
        dial_due(engine)
    assert isinstance(error.value, TwilioAccountError) and error.value.code == 21215
    message = str(error.value)
    assert "all 3 calls of this dial batch" in message and "21215" in message
    assert "geographic permissions" in message and "Geo permissions" in message  # what to do
    assert "+447911123456" not in message
    assert sandbox.calls() == []
    assert [invalid_reasons(hook, f"x{i}")[0] for i in (1, 2, 3)] == [GEO_REASON] * 3
    assert [lead_row(hook, f"x{i}")["status"] for i in (1, 2, 3)] == ["max_retries"] * 3


def test_set_status_created_clears_a_wrong_invalid_mark(hook, make_engine, sandbox):
    """Point 3: a contact the old rule marked invalid for an account code is dialable again
    once a person sets its lead back to created."""
    engine = make_engine(HEADER + "+14155550139,,t,Tina\n")
    lead_id = lead_row(hook, "t")["id"]
    hook.mark_contact_invalid(lead_id, 0, "invalid number (Twilio 21210)")
    hook.set_lead_status(engine.campaign_id, lead_id, "created", engine.clock())
    assert dial_due(engine).placed == 1
    assert [c["to"] for c in sandbox.calls()] == ["+14155550139"]


def test_completed_while_in_a_dialers_queue_is_never_called(hook, make_engine, sandbox):
    """Point 4: the person's `completed` wins over a dialer that claimed the lead before."""
    engine = make_engine(HEADER + "+14155550140,,u1,U\n+14155550141,,u2,U\n")
    leads = engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 10)
    hook.set_lead_status(engine.campaign_id, lead_row(hook, "u1")["id"], "completed", engine.clock())
    report = engine.dial(leads)
    assert (report.placed, report.changed_by_person) == (1, 1)
    assert [c["to"] for c in sandbox.calls()] == ["+14155550141"]
    assert lead_row(hook, "u1")["status"] == "completed" and attempts(hook, "u1") == []


def test_completed_while_processing_before_the_create_is_never_called(hook, make_engine, sandbox, pg_url):
    """Point 4: the lead is `processing` (its attempt written) and the dialer waits for a CPS
    slot when the person completes it: no call is placed after the change."""
    import threading

    import psycopg

    from outcall_provider.hooks.campaign import CampaignHook

    engine = make_engine(HEADER + "+14155550142,,v,Vera\n")
    leads = engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 10)
    engine.twilio.warm_up()
    person = CampaignHook()  # the person's own connection (the dialer's is busy in its thread)
    with psycopg.connect(f"{pg_url}/outcall") as blocker:
        blocker.execute("lock table outcall_pacing in access exclusive mode")  # the dialer waits in pace()
        dialer = threading.Thread(target=lambda: engine.dial(leads))
        dialer.start()
        deadline = time.time() + 10
        while lead_row(person, "v")["status"] != "processing" and time.time() < deadline:
            time.sleep(0.02)
        assert lead_row(person, "v")["status"] == "processing"
        person.set_lead_status(engine.campaign_id, lead_row(person, "v")["id"], "completed", engine.clock())
    dialer.join(30)
    assert sandbox.calls() == []
    assert lead_row(person, "v")["status"] == "completed" and attempts(person, "v") == []
    person.close()


def test_created_while_a_call_is_in_flight_is_refused(hook, make_engine, sandbox):
    """Point 4: `created` during a call would start a second call to the same person."""
    from outcall_provider.hooks.campaign import LeadBusy

    engine = make_engine(HEADER + "+14155550143,,w,Wal\n")
    dial_due(engine)
    with pytest.raises(LeadBusy, match="call in flight"):
        hook.set_lead_status(engine.campaign_id, lead_row(hook, "w")["id"], "created", engine.clock())
    assert dial_due(engine).placed == 0
    settle(engine, terminal_or_waiting(hook, "w"))
    hook.set_lead_status(engine.campaign_id, lead_row(hook, "w")["id"], "created", engine.clock())
    assert dial_due(engine).placed == 1
    assert len(sandbox.calls()) == 2


def reimport(hook, engine, tmp_path, csv_text):
    path = tmp_path / "reimport.csv"
    path.write_text(csv_text)
    hook.import_leads_csv(engine.campaign_id, path, "US", engine.clock())


def test_a_reimport_removing_the_next_contact_never_dials_the_primary_instead(hook, make_engine, sandbox, tmp_path):
    """Point 5: the lead was to dial its secondary next; a re-import removed it: the round ends."""
    engine = make_engine(HEADER + "+14155553144,+14155550144,x,Xavi\n")
    dial_due(engine)
    settle(engine, lambda: lead_row(hook, "x")["contact_index"] == 1)
    reimport(hook, engine, tmp_path, HEADER + "+14155553144,,x,Xavi\n")
    dial_due(engine)
    lead = lead_row(hook, "x")
    assert (lead["status"], lead["round"], lead["contact_index"]) == ("rescheduled", 2, 0)
    assert [c["to"] for c in sandbox.calls()] == ["+14155553144"]


def test_a_reimport_removing_the_contact_in_flight_never_stops_reconciliation(hook, make_engine, sandbox, tmp_path):
    """Point 5: the call to a secondary is in flight when a re-import removes it; judging it
    moves the lead to its next round, and the other leads are judged too."""
    engine = make_engine(HEADER + "+14155553145,+14155553146,y,Yara\n+14155550147,,z,Zeca\n")
    dial_due(engine)
    settle(engine, lambda: lead_row(hook, "y")["contact_index"] == 1)
    dial_due(engine)  # the secondary is dialed
    reimport(hook, engine, tmp_path, HEADER + "+14155553145,,y,Yara\n+14155550147,,z,Zeca\n")
    settle(engine, lambda: lead_row(hook, "y")["status"] == "rescheduled"
           and lead_row(hook, "z")["status"] != "processing")
    lead = lead_row(hook, "y")
    assert (lead["round"], lead["contact_index"]) == (2, 0)
    assert lead_row(hook, "z")["status"] == "completed"


def test_one_attempt_that_cannot_be_judged_does_not_stop_the_others(hook, make_engine, sandbox):
    """Point 5: an unexpected record is logged and skipped; the rest are judged."""
    engine = make_engine(HEADER + "+14155550148,,a1,A\n+14155550149,,a2,A\n")
    dial_due(engine)
    with hook.db.cursor() as cur:
        cur.execute("update outcall_attempts a set call_status = 'completed', answered_by = 'robot', "
                    "record_read_at = now() from outcall_leads l where l.id = a.lead_id and l.external_id = 'a1'")
    hook.db.commit()
    settle(engine, lambda: lead_row(hook, "a2")["status"] == "completed")
    assert engine.reconcile().not_judged_errors == 1
    assert lead_row(hook, "a1")["status"] == "processing"


def dialed_and_ended(engine, hook, sandbox, external_id: str) -> str:
    """Dial the lead's one call and wait until it ended at Twilio; its SID."""
    dial_due(engine)
    (attempt,) = attempts(hook, external_id)
    deadline = time.time() + 20
    while sandbox.call(attempt["call_sid"])["status"] != "completed" and time.time() < deadline:
        time.sleep(0.05)
    return attempt["call_sid"]


def test_a_callback_without_answered_by_cannot_turn_a_voicemail_into_a_person(hook, make_engine, sandbox):
    """Point 8: the callback says `completed` (no AnsweredBy); the outcome comes from Twilio's
    own record, read once: a machine answered, so the voicemail rule applies."""
    engine = make_engine(HEADER + "+14155552150,,b1,B\n", on_voicemail=True)
    sid = dialed_and_ended(engine, hook, sandbox, "b1")
    hook.webhook_call_status(sid, 9, "completed", None, 30, engine.clock())
    fetches = sandbox.stats()["requests"].get("calls.fetch", 0)
    engine.reconcile()
    lead = lead_row(hook, "b1")
    assert (lead["status"], lead["last_outcome"]) == ("rescheduled", "voicemail")
    assert attempts(hook, "b1")[0]["answered_by"].startswith("machine_")
    assert sandbox.stats()["requests"]["calls.fetch"] == fetches + 1
    engine.reconcile()
    assert sandbox.stats()["requests"]["calls.fetch"] == fetches + 1  # read once


def test_prices_arrive_after_the_call_is_judged(hook, make_engine, sandbox):
    """Point 9: Twilio fills the price in after the call ends; the store catches up and the
    campaign's cost is the sum of Twilio's prices."""
    rows = "".join(f"+1415555{i:04d},,p{i},P\n" for i in range(151, 154))  # 0xxx: answered
    engine = make_engine(HEADER + rows)
    dial_due(engine)
    settle(engine, lambda: all(lead_row(hook, f"p{i}")["status"] == "completed" for i in range(151, 154)))
    assert any(a["price"] is None for i in range(151, 154) for a in attempts(hook, f"p{i}"))
    settle_prices(engine, hook, [f"p{i}" for i in range(151, 154)])
    ours = sum(a["price"] for i in range(151, 154) for a in attempts(hook, f"p{i}"))
    theirs = sum(Decimal(c["price"]) for c in sandbox.calls())
    assert ours == theirs


def test_a_call_twilio_does_not_know_counts_as_failed(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550132,,o,Olga\n")
    dial_due(engine)
    sandbox.reset()  # Twilio forgets the call (a sandbox restarted under a running campaign)
    settle(engine, terminal_or_waiting(hook, "o"))
    lead = lead_row(hook, "o")
    assert (lead["status"], lead["last_outcome"]) == ("rescheduled", "failed")


def test_a_dialer_waits_for_a_window_that_opens_during_its_tick(hook, make_engine, sandbox):
    from datetime import datetime, timedelta, timezone

    from tests.operators.conftest import OffsetClock

    clock = OffsetClock()
    real = datetime.now(timezone.utc)
    clock.offset = real.replace(hour=9, minute=59, second=58, microsecond=0) + timedelta(days=1) - real
    engine = make_engine(HEADER + "+14155550133,,p,Paulo\n", clock=clock)
    engine.window = dataclasses.replace(engine.window, start=clock_time(10, 0), end=clock_time(11, 0),
                                        days=frozenset(range(7)), timezone="UTC")
    assert not engine.window.is_open(clock())
    report = engine.dial([], deadline=clock() + timedelta(seconds=6), refill=True)
    assert report.placed == 1 and not report.window_closed
    (call,) = sandbox.calls()
    assert call["to"] == "+14155550133"


def test_the_voice_url_carries_only_outcall_ids_never_lead_data(hook, make_engine, sandbox):
    """Twilio and the assistant log the voice URL: lead variables stay out of it; the assistant
    reads them by lead id (GET /outcall/api/v1/campaigns/{campaign}/leads?q={lead_id})."""
    from urllib.parse import parse_qs, urlsplit

    engine = make_engine(HEADER + "+14155550140,,v1,Ana\n")
    with hook.db.cursor() as cur:  # a lead stored before names were reserved cannot steer the ids either
        cur.execute("update outcall_leads set variables = variables || '{\"campaign\": \"other\", \"lead_id\": \"1\"}'"
                    " where external_id = 'v1'")
    hook.db.commit()
    assert dial_due(engine).placed == 1
    (call,) = sandbox.calls()
    url = sandbox.call(call["sid"])["params"]["Url"]
    assert parse_qs(urlsplit(url).query) == {"lead_id": [str(lead_row(hook, "v1")["id"])],
                                             "campaign": [engine.campaign.name]}
    assert "Ana" not in url


def test_a_stream_campaign_hands_the_lead_variables_as_stream_parameters(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550141,,w1,Ana\n")
    engine.campaign = dataclasses.replace(engine.campaign, assistant=dataclasses.replace(
        engine.campaign.assistant, voice_url=None, stream_url="wss://assistant.example.com/media"))
    assert dial_due(engine).placed == 1
    (call,) = sandbox.calls()
    params = sandbox.call(call["sid"])["params"]
    assert "Url" not in params
    lead_id = lead_row(hook, "w1")["id"]
    assert (f'<Parameter name="lead_id" value="{lead_id}"/><Parameter name="campaign" value="{engine.campaign.name}"/>'
            '<Parameter name="first_name" value="Ana"/>') in params["Twiml"]
