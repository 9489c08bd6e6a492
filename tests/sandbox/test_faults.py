"""Fault injection through the real twilio client: lost create answers, seeded rates, and
status callbacks that come late, twice, out of order or never."""
import time
from collections import Counter, defaultdict
from urllib.parse import parse_qsl

import pytest
import requests
from sbtools import FAST, FROM, VOICE, control, wait_until
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator

from sandbox import Sandbox

EVENTS = ["initiated", "ringing", "answered", "completed"]


@pytest.mark.parametrize("fault, raised", [
    ({"timeout": 1, "timeout_seconds": 3}, requests.exceptions.ReadTimeout),
    ({"status_500": 1}, TwilioRestException),
])
def test_create_fault_after_create_the_call_exists_but_the_client_never_got_its_sid(
        sb, fault, raised):
    client = sb.client(timeout=1)  # TwilioHttpClient(timeout=1)
    control(sb, "POST", "/_sandbox/faults", dict(fault, after_create=True))
    t0 = time.monotonic()
    with pytest.raises(raised):
        client.calls.create(to="+14155550060", from_=FROM, url=VOICE)
    assert time.monotonic() - t0 < 2.5
    log = sb.calls()
    assert len(log) == 1 and log[0]["to"] == "+14155550060"
    name = "create_timeout_after_create" if "timeout" in fault else "create_500_after_create"
    assert log[0]["create_fault"] == name
    stats = control(sb, "GET", "/_sandbox/stats")
    assert stats["injected"] == {name: 1} and stats["calls"] == 1
    if "status_500" in fault:
        assert stats["responses"] == {"calls.create 500": 1}
    else:  # the connection is dropped unanswered once the hang ends
        wait_until(lambda: sb.stats()["responses"] == {"calls.create 0": 1}, 4)
    # the client finds the call it never heard of by listing, as outcall does
    found = client.calls.list(to="+14155550060", from_=FROM)
    assert [c.sid for c in found] == [log[0]["sid"]]


@pytest.mark.parametrize("rate", ["create_timeout_after_create", "create_500_after_create"])
def test_rate_create_faults_after_create(rate):
    with Sandbox(cps=100, time_scale=FAST) as sb:
        sb.set_faults(rates={rate: 1.0}, timeout_seconds=2)
        client = sb.client(timeout=1)
        with pytest.raises((requests.exceptions.Timeout, TwilioRestException)):
            client.calls.create(to="+14155550061", from_=FROM, url=VOICE)
        assert [c["create_fault"] for c in sb.calls()] == [rate]
        assert sb.stats()["injected"] == {rate: 1}


def _create_outcomes(seed, numbers, rates):
    """What each create request got: ok / 429 / 500 / timeout, and what the sandbox counted."""
    with Sandbox(cps=1000, time_scale=FAST) as sb:
        sb.set_faults(rates=rates, seed=seed, timeout_seconds=0.6)
        client = sb.client(timeout=0.3)
        got = {}
        for to in numbers:
            try:
                client.calls.create(to=to, from_=FROM, url=VOICE)
                got[to] = "ok"
            except TwilioRestException as exc:
                got[to] = str(exc.status)
            except requests.exceptions.Timeout:
                got[to] = "timeout"
        created = {c["to"] for c in sb.calls()}
        return got, created, sb.stats()["injected"]


def test_rate_faults_are_seeded_counted_and_a_429_creates_nothing():
    numbers = [f"+1415555{i:04d}" for i in range(60)]
    rates = {"create_500_after_create": 0.15, "create_timeout_after_create": 0.1,
             "status_429": 0.1}
    got, created, injected = _create_outcomes(7, numbers, rates)
    seen = Counter(got.values())
    assert seen["429"] and seen["500"] and seen["timeout"] and seen["ok"]
    assert injected == {"status_429": seen["429"], "create_500_after_create": seen["500"],
                        "create_timeout_after_create": seen["timeout"]}
    assert created == {to for to, what in got.items() if what != "429"}  # a 429 creates nothing
    again = _create_outcomes(7, numbers, rates)
    assert again[0] == got  # same seed, same faults on the same requests
    assert _create_outcomes(8, numbers, rates)[0] != got


def test_rate_429_hits_any_twilio_request_unless_an_endpoint_is_named():
    with Sandbox(cps=100, time_scale=FAST) as sb:
        client = sb.client()
        sb.set_faults(rates={"status_429": 0.5}, seed=1)
        refused = 0
        for _ in range(40):
            try:
                client.balance.fetch()
            except TwilioRestException as exc:
                assert (exc.status, exc.code) == (429, 20429)
                refused += 1
        assert 8 <= refused <= 32 and sb.stats()["injected"] == {"status_429": refused}
        with pytest.raises(TwilioException):  # a list fails too (twilio: "Unable to fetch page")
            for _ in range(40):
                client.calls.list(limit=1)
        sb.set_faults(rates={"status_429": 1.0}, endpoint="calls.create")
        assert client.balance.fetch().currency == "USD"
        with pytest.raises(TwilioRestException):
            client.calls.create(to="+14155550062", from_=FROM, url=VOICE)
        assert sb.calls() == []


def test_fault_keys_are_validated(sb):
    for bad in ({"rates": {"status_999": 0.1}}, {"rates": {"status_429": 1.5}},
                {"endpoint": "calls.delete"}, {"retries": 1}):
        with pytest.raises(Exception) as err:
            control(sb, "POST", "/_sandbox/faults", bad)
        assert err.value.code == 400
        body = err.value.read().decode()
        assert "allowed" in body or "known" in body, body
    assert control(sb, "GET", "/_sandbox/faults")["rates"] == {}


# -- status callbacks -------------------------------------------------------------------

CALLBACK_RATES = {"callback_drop": 0.2, "callback_duplicate": 0.2,
                  "callback_out_of_order": 0.25, "callback_delay": 0.3}


def _callbacks(receiver, seed, rates=CALLBACK_RATES, n=16):
    """Per number: the (SequenceNumber, CallStatus) pairs in arrival order, plus the stats."""
    receiver.requests.clear()
    with Sandbox(cps=1000, time_scale=FAST) as sb:
        sb.set_faults(rates=rates, seed=seed, callback_delay_max_s=0.5)
        client = sb.client()
        url = f"{receiver.url}/cb/{seed}"
        for i in range(n):
            client.calls.create(to=f"+141555500{i:02d}", from_=FROM, url=VOICE,
                                status_callback=url, status_callback_event=EVENTS,
                                machine_detection="Enable")
        wait_until(lambda: all(c["status"] == "completed" for c in sb.calls()), 5)
        wait_until(lambda: sb.stats()["callbacks_pending"] == 0, 8)  # late ones and copies
        validator = RequestValidator(sb.auth_token)
        arrived = defaultdict(list)
        bodies = defaultdict(list)
        for r in receiver.requests:
            if r["path"] != f"/cb/{seed}":
                continue
            p = dict(parse_qsl(r["body"].decode()))
            assert validator.validate(url, p, r["headers"]["X-Twilio-Signature"])
            arrived[p["To"]].append((int(p["SequenceNumber"]), p["CallStatus"]))
            bodies[(p["To"], p["SequenceNumber"])].append(r["body"])
        return arrived, bodies, sb.stats()["injected"], sb.calls()


def test_callback_faults_drop_duplicate_reorder_and_delay_and_are_counted(receiver):
    arrived, bodies, injected, log = _callbacks(receiver, seed=3)
    order = ["initiated", "ringing", "in-progress", "completed"]
    dropped = duplicated = reordered = 0
    for events in arrived.values():
        numbers = [seq for seq, _ in events]
        for seq, status in events:
            assert order[seq] == status  # SequenceNumber is the order the events fired in
        dropped += 4 - len(set(numbers))
        duplicated += len(numbers) - len(set(numbers))
        reordered += sum(1 for a, b in zip(numbers, numbers[1:]) if b < a)
    dropped += 4 * (16 - len(arrived))
    assert all(len(set(copies)) == 1 for copies in bodies.values())  # a duplicate is identical
    assert dropped == injected["callback_drop"] > 0
    assert duplicated == injected["callback_duplicate"] > 0
    assert injected["callback_out_of_order"] > 0 and reordered > 0
    assert injected["callback_delay"] > 0
    entries = [e for call in log for e in call["callbacks"]]
    assert sum(e["result"] == "dropped" for e in entries) == injected["callback_drop"]
    late = [e for e in entries if "delay" in e.get("faults", [])]
    assert len(late) == injected["callback_delay"]
    assert all(e["delivered_after_s"] >= e["delay_s"] - 0.05 for e in late)

    again = _callbacks(receiver, seed=3)
    assert again[2] == injected  # the same seed injects the same faults
    assert {to: sorted(set(ev)) for to, ev in again[0].items()} == \
        {to: sorted(set(ev)) for to, ev in arrived.items()}


def test_callbacks_can_omit_answered_by(receiver):
    with Sandbox(cps=100, time_scale=FAST) as sb:
        sb.set_faults(rates={"callback_no_answered_by": 1.0})
        client = sb.client()
        sid = client.calls.create(to="+14155550070", from_=FROM, url=VOICE,
                                  status_callback=receiver.url + "/cb",
                                  status_callback_event=["answered", "completed"],
                                  machine_detection="Enable").sid
        got = receiver.wait_for(2)
        params = [dict(parse_qsl(r["body"].decode())) for r in got]
        assert [p["CallStatus"] for p in params] == ["in-progress", "completed"]
        assert all("AnsweredBy" not in p for p in params)
        assert client.calls(sid).fetch().answered_by == "human"  # the API still knows
        assert sb.stats()["injected"] == {"callback_no_answered_by": 2}
