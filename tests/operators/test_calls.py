"""The call engine against the sandbox through the real twilio client: one test per path."""
from __future__ import annotations

import dataclasses
from datetime import time

import pytest

from tests.operators.conftest import attempts, lead_row, settle

HEADER = "phone_number,secondary_phone_1,external_id,first_name\n"


def dial_due(engine):
    leads = engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 100)
    return engine.dial(leads)


def terminal_or_waiting(hook, external_id):
    return lambda: lead_row(hook, external_id)["status"] in ("completed", "max_retries", "rescheduled")


def test_person_answers_and_goal_is_met(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550123,,a,Ana\n")
    assert dial_due(engine).placed == 1
    settle(engine, terminal_or_waiting(hook, "a"))
    lead = lead_row(hook, "a")
    assert (lead["status"], lead["goal_met"], lead["last_outcome"]) == ("completed", True, "goal_met")
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


def test_5xx_without_a_call_dials_again_once(hook, make_engine, sandbox):
    engine = make_engine(HEADER + "+14155550131,,n,Nuno\n")
    sandbox.set_faults(status_500=1, endpoint="calls.create")
    assert dial_due(engine).placed == 1
    assert len(sandbox.calls()) == 1
    assert sandbox.stats()["responses"]["calls.create 500"] == 1


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
    engine.window = dataclasses.replace(engine.window, start=time(10, 0), end=time(11, 0),
                                        days=frozenset(range(7)), timezone="UTC")
    assert not engine.window.is_open(clock())
    report = engine.dial([], deadline=clock() + timedelta(seconds=6), refill=True)
    assert report.placed == 1 and not report.window_closed
    (call,) = sandbox.calls()
    assert call["to"] == "+14155550133"
