"""Webhooks end to end: the sandbox (a Twilio-compatible server and a stand-in assistant) calls
the real Airflow API server's webhooks, signed as Twilio and the assistant sign them."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
from twilio.request_validator import RequestValidator

from sandbox import Sandbox

from .conftest import ASSISTANT_SECRET, TWILIO, call_sid


def wait_for(fn, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def attempt(hook, sid):
    with hook.db.cursor() as cur:
        cur.execute("select a.call_status, a.answered_by, a.duration_s, v.variables, a.callback_seq, a.ended_at "
                    "from outcall_attempts a left join outcall_call_variables v using (call_sid) "
                    "where a.call_sid = %s", (sid,))
        row = cur.fetchone()
    hook.db.commit()
    return row


def test_a_sandbox_call_reaches_the_store_through_both_webhooks(stack, hook, example):
    lead = hook.claim_due_leads(example["campaign_id"], example["now"], 1)[0]
    with Sandbox(account_sid=TWILIO[0], auth_token=TWILIO[1], time_scale=60,
                 assistant_results_url=f"{stack.url}/outcall/webhooks/assistant/results",
                 assistant_secret=ASSISTANT_SECRET) as sb:
        attempt_id = hook.record_attempt(example["campaign_id"], lead, "+14155550042", "+14155550100", example["now"])
        call = sb.create_call(To="+14155550042", From="+14155550100", Url="https://assistant.example.com/voice",
                              StatusCallback=f"{stack.url}/outcall/webhooks/twilio/status",
                              StatusCallbackEvent="initiated ringing answered completed", MachineDetection="Enable")
        hook.set_attempt_sid(attempt_id, call["sid"])
        row = wait_for(lambda: (r := attempt(hook, call["sid"])) and r[0] == "completed" and r[3] and r)
        deliveries = [c["result"] for c in sb.call(call["sid"])["callbacks"]]
    status, answered_by, duration, variables, seq, ended_at = row
    assert (status, answered_by) == ("completed", "human") and duration > 0 and ended_at is not None
    assert variables["appointment_booked"] is True and seq >= 2
    assert set(deliveries) <= {200, 204}  # every callback was accepted


def sign_twilio(url: str, params: dict) -> str:
    return RequestValidator(TWILIO[1]).compute_signature(url, params)


def sign_assistant(body: bytes, secret: str = ASSISTANT_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


STATUS_PATH = "/outcall/webhooks/twilio/status"
RESULTS_PATH = "/outcall/webhooks/assistant/results"


@pytest.fixture
def ringing(stack, example, hook):
    """Call 3 of the example is ringing; its row as it is before any webhook."""
    return attempt(hook, call_sid(3))


def status_form(seq=5, status="completed"):
    return {"CallSid": call_sid(3), "CallStatus": status, "SequenceNumber": str(seq),
            "AnsweredBy": "human", "CallDuration": "33", "AccountSid": TWILIO[0]}


def test_twilio_status_callbacks_without_a_valid_signature_change_nothing(stack, hook, ringing):
    url = stack.url + STATUS_PATH
    form = status_form()
    signed_for_other = sign_twilio(url, {**form, "CallStatus": "busy"})
    for headers, data in [({}, form),                                                  # unsigned
                          ({"X-Twilio-Signature": "AAAA" + sign_twilio(url, form)[4:]}, form),  # forged
                          ({"X-Twilio-Signature": signed_for_other}, form),            # replayed, body changed
                          ({"X-Twilio-Signature": sign_twilio(url + "x", form)}, form)]:  # signed for another URL
        r = httpx.post(url, data=data, headers=headers)
        assert r.status_code == 403, r.text
    assert attempt(hook, call_sid(3)) == ringing
    r = httpx.post(url, data=form, headers={"X-Twilio-Signature": sign_twilio(url, form)})
    assert r.status_code == 204
    assert attempt(hook, call_sid(3))[:3] == ("completed", "human", 33)


def test_twilio_repeats_and_older_sequence_numbers_are_ignored(stack, hook, ringing):
    url = stack.url + STATUS_PATH
    for form in (status_form(2, "in-progress"), status_form(4, "completed"), status_form(3, "in-progress"),
                 status_form(4, "completed")):
        r = httpx.post(url, data=form, headers={"X-Twilio-Signature": sign_twilio(url, form)})
        assert r.status_code == 204
    row = attempt(hook, call_sid(3))
    assert (row[0], row[4]) == ("completed", 4)


def test_assistant_results_need_the_hmac_of_the_exact_body(stack, hook, ringing):
    url = stack.url + RESULTS_PATH
    body = json.dumps({"call_sid": call_sid(3), "variables": {"appointment_booked": True}}).encode()
    changed = json.dumps({"call_sid": call_sid(3), "variables": {"appointment_booked": False}}).encode()
    for headers, content in [({}, body), ({"X-Outcall-Signature": sign_assistant(body, "wrong")}, body),
                             ({"X-Outcall-Signature": sign_assistant(body)}, changed),
                             ({"X-Outcall-Signature": sign_assistant(body).replace("sha256=", "")}, body)]:
        r = httpx.post(url, content=content, headers={"content-type": "application/json", **headers})
        assert r.status_code == 403, r.text
    assert attempt(hook, call_sid(3))[3] is None
    for _ in range(2):  # a repeat is harmless
        r = httpx.post(url, content=body, headers={"X-Outcall-Signature": sign_assistant(body)})
        assert r.status_code == 200 and r.json() == {"call_sid": call_sid(3), "stored": True, "call_known": True}
    assert attempt(hook, call_sid(3))[3] == {"appointment_booked": True}


@pytest.mark.parametrize("variables, problem", [
    ({"appointment_booked": "yes"}, "appointment_booked: string given, boolean expected"),
    ({"summary": 3}, "summary: number given, string expected"),
    ({"apointment_booked": True}, "apointment_booked: not a post-call variable of this campaign"),
])
def test_assistant_variables_must_match_the_campaigns_types(stack, hook, ringing, variables, problem):
    body = json.dumps({"call_sid": call_sid(3), "variables": variables}).encode()
    r = httpx.post(stack.url + RESULTS_PATH, content=body, headers={"X-Outcall-Signature": sign_assistant(body)})
    assert r.status_code == 422 and any(p.startswith(problem) for p in r.json()["detail"]["problems"])
    assert attempt(hook, call_sid(3))[3] is None


def test_assistant_results_before_the_call_sid_is_known_are_kept(stack, hook, example):
    # A dialer that crashed between dialing and saving the SID must not lose the result.
    body = json.dumps({"call_sid": call_sid(77), "variables": {"appointment_booked": True}}).encode()
    r = httpx.post(stack.url + RESULTS_PATH, content=body, headers={"X-Outcall-Signature": sign_assistant(body)})
    assert r.status_code == 202 and r.json() == {"call_sid": call_sid(77), "stored": True, "call_known": False}
    nested = json.dumps({"call_sid": call_sid(78), "variables": {"x": {"a": 1}}}).encode()
    r = httpx.post(stack.url + RESULTS_PATH, content=nested, headers={"X-Outcall-Signature": sign_assistant(nested)})
    assert r.status_code == 422


def test_oversized_webhook_bodies_are_refused_unread(stack, hook, ringing):
    big = b'{"call_sid": "' + call_sid(3).encode() + b'", "variables": {"summary": "' + b"x" * 70_000 + b'"}}'
    r = httpx.post(stack.url + RESULTS_PATH, content=big, headers={"X-Outcall-Signature": sign_assistant(big)})
    assert r.status_code == 413
    form = {**status_form(), "Padding": "x" * 70_000}
    url = stack.url + STATUS_PATH
    r = httpx.post(url, data=form, headers={"X-Twilio-Signature": sign_twilio(url, form)})
    assert r.status_code == 413
    assert attempt(hook, call_sid(3)) == ringing
