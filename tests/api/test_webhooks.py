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
        attempt_id = hook.record_attempt(example["campaign_id"], lead, "+14155550042", "+14155550100",
                                         example["now"]).attempt_id
        call = sb.create_call(To="+14155550042", From="+14155550100", Url="https://assistant.example.com/voice",
                              StatusCallback=f"{stack.url}/outcall/webhooks/twilio/status",
                              StatusCallbackEvent="initiated ringing answered completed", MachineDetection="Enable")
        with hook.attempt_locked(attempt_id) as placing:  # as a dialer saves the SID
            placing.set_sid(call["sid"])
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
        assert r.status_code == 200 and r.json() == {"call_sid": call_sid(3), "stored": True, "call_known": True,
                                                     "used": True, "arrived_after_judging": False}
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
    assert r.status_code == 202 and r.json() == {"call_sid": call_sid(77), "stored": True, "call_known": False,
                                                 "used": True, "arrived_after_judging": False}
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


def post_results(stack, variables, sid=None, query=""):
    sid = sid or call_sid(3)
    body = json.dumps({"call_sid": sid, "variables": variables}).encode()
    return httpx.post(stack.url + RESULTS_PATH + query, content=body,
                      headers={"X-Outcall-Signature": sign_assistant(body)})


def post_status(stack, form, query=""):
    url = stack.url + STATUS_PATH + query
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": sign_twilio(url, form)})


def test_reports_of_one_call_merge_and_a_null_never_erases_a_value(stack, hook, ringing):
    r = post_results(stack, {"appointment_booked": None, "summary": "call back Friday"})
    assert r.status_code == 200 and r.json()["used"] is True and r.json()["arrived_after_judging"] is False
    assert attempt(hook, call_sid(3))[3] == {"summary": "call back Friday"}
    r = post_results(stack, {"appointment_booked": True, "summary": None})  # fills in, erases nothing
    assert r.status_code == 200 and r.json()["used"] is True
    assert attempt(hook, call_sid(3))[3] == {"appointment_booked": True, "summary": "call back Friday"}
    assert post_results(stack, {"summary": "booked Friday 10:00"}).status_code == 200  # a correction
    assert attempt(hook, call_sid(3))[3] == {"appointment_booked": True, "summary": "booked Friday 10:00"}


@pytest.mark.parametrize("variables", [{}, {"appointment_booked": None}, {"appointment_booked": None, "summary": None}])
def test_a_report_without_values_is_not_received(stack, hook, ringing, variables):
    r = post_results(stack, variables)
    assert r.status_code == 200 and r.json()["stored"] is False and r.json()["used"] is False
    assert attempt(hook, call_sid(3))[3] is None  # the engine keeps waiting for the variables
    [call] = hook.open_attempts(hook.campaign_id("example"))
    assert call.call_sid == call_sid(3) and call.variables is None


@pytest.mark.parametrize("raw, field", [
    (b'{"score": NaN}', "variables.score: NaN"),
    (b'{"score": Infinity}', "variables.score: Infinity"),
    (b'{"score": -Infinity}', "variables.score: -Infinity"),
    (b'{"score": 1e999}', "variables.score: 1e999"),
    (b'{"summary": "ok\\u0000then"}', "variables.summary: contains a NUL"),
    (b'{"sum\\u0000mary": "ok"}', 'variables["sum\\u0000mary"]: the name contains a NUL'),
])
def test_non_finite_numbers_and_nul_characters_are_refused_naming_the_field(stack, hook_two, other, raw, field):
    # `other` declares score: number, so only the value itself is wrong
    before = attempt(hook_two, call_sid(50))
    body = b'{"call_sid": "' + call_sid(50).encode() + b'", "variables": ' + raw + b"}"
    r = httpx.post(stack.url + RESULTS_PATH, content=body, headers={"X-Outcall-Signature": sign_assistant(body)})
    assert r.status_code == 422, r.text
    assert any(p.startswith(field) for p in r.json()["detail"]["problems"]), r.json()
    assert attempt(hook_two, call_sid(50)) == before


def test_variables_after_judging_are_kept_apart_and_noted(stack, api, hook, example):
    from outcall_provider.rules.outcome import Action, CallOutcome

    attempt_id, now = example["attempts"][2], example["now"]
    hook.update_attempt_call(attempt_id, "completed", answered_by="human", duration_s=40, ended_at=now)
    hook.apply_outcome(attempt_id, 1, CallOutcome(Action.RETRY, "variables_late", next_round=2, due_at=now,
                                                  note="post-call variables not received in time"), now)
    r = post_results(stack, {"appointment_booked": True, "summary": "late"})
    assert r.status_code == 200
    assert r.json()["used"] is False and r.json()["arrived_after_judging"] is True
    call = next(c for c in api.get("/api/v1/campaigns/example/calls").json()["calls"] if c["id"] == attempt_id)
    assert call["variables"] is None and call["outcome_reason"] == "variables_late"
    assert call["late_variables"] == {"appointment_booked": True, "summary": "late"} and call["late_variables_at"]
    assert call["outcome_note"].endswith("variables arrived after judging")
    post_results(stack, {"summary": "later still"})  # merged, noted once
    call = next(c for c in api.get("/api/v1/campaigns/example/calls").json()["calls"] if c["id"] == attempt_id)
    assert call["late_variables"] == {"appointment_booked": True, "summary": "later still"}
    assert call["outcome_note"].count("variables arrived after judging") == 1


def test_out_of_order_late_and_answered_by_less_callbacks_never_move_a_call_back(stack, hook, ringing):
    completed = {**status_form(3, "completed"), "AnsweredBy": ""}          # no AnsweredBy on this one
    answered = {**status_form(2, "in-progress"), "CallDuration": ""}       # arrives after it
    for form in (completed, answered, completed, status_form(1, "ringing")):
        assert post_status(stack, form).status_code == 204
    status, answered_by, duration, _, seq, ended_at = attempt(hook, call_sid(3))
    assert (status, answered_by, duration, seq) == ("completed", "human", 33, 3) and ended_at is not None
    later = {**status_form(4, "completed"), "AnsweredBy": "", "CallDuration": ""}
    assert post_status(stack, later).status_code == 204  # a newer one without AnsweredBy clears nothing
    assert attempt(hook, call_sid(3))[:3] == ("completed", "human", 33)


def test_a_status_callback_after_polling_ended_the_call_changes_nothing(stack, hook, example):
    hook.update_attempt_call(example["attempts"][2], "no-answer", duration_s=0, ended_at=example["now"])
    before = attempt(hook, call_sid(3))
    for form in (status_form(0, "initiated"), status_form(1, "ringing"), status_form(2, "in-progress")):
        assert post_status(stack, {**form, "AnsweredBy": "", "CallDuration": ""}).status_code == 204
    after = attempt(hook, call_sid(3))
    assert after[0] == "no-answer" and after[:4] == before[:4]


def test_webhooks_find_the_call_in_its_campaigns_own_store(stack, hook, hook_two, example, other):
    sid = call_sid(50)
    assert attempt(hook, sid) is None  # not in the default store
    assert post_status(stack, {**status_form(1, "in-progress"), "CallSid": sid},
                       query="?db_conn_id=outcall_db_two").status_code == 204
    assert attempt(hook_two, sid)[:2] == ("in-progress", "human")
    # without the store in the URL, every campaign file's store is searched
    assert post_status(stack, {**status_form(2, "completed"), "CallSid": sid}).status_code == 204
    assert attempt(hook_two, sid)[:3] == ("completed", "human", 33)
    r = post_results(stack, {"appointment_booked": True}, sid=sid)
    assert r.status_code == 200 and r.json()["call_known"] is True and r.json()["used"] is True
    assert attempt(hook_two, sid)[3] == {"appointment_booked": True}
    # a store no campaign uses is never connected to: the call is still found in its own
    r = post_results(stack, {"summary": "x"}, sid=sid, query="?db_conn_id=airflow_db")
    assert r.status_code == 200 and attempt(hook_two, sid)[3] == {"appointment_booked": True, "summary": "x"}


def test_webhook_logs_mask_phone_numbers(stack, hook, example):
    number = "+14155559876"
    form = {**status_form(1, "ringing"), "To": number}
    assert post_status(stack, form).status_code == 204
    logs = (stack.home / "logs" / "api-server.log").read_text(errors="replace")
    assert "9876: ringing" in logs and number not in logs and number[1:] not in logs


def post_report(stack, report: dict):
    body = json.dumps(report).encode()
    return httpx.post(stack.url + RESULTS_PATH, content=body, headers={"X-Outcall-Signature": sign_assistant(body)})


def api_call(api, attempt_id):
    return next(c for c in api.get("/api/v1/campaigns/example/calls").json()["calls"] if c["id"] == attempt_id)


TRANSCRIPT = "Assistant: Hi Ana, it's about your renewal.\nAna: <b>Tuesday</b> works & thanks!"
RECORDING = "https://recordings.example.com/RE0123.mp3?token=abc"


def test_transcript_and_recording_are_stored_on_the_call_and_shown_by_the_calls_api(stack, api, hook, example):
    ringing_id, judged_id = example["attempts"][2], example["attempts"][0]
    r = post_report(stack, {"call_sid": call_sid(3), "variables": {"summary": "renewal"},
                            "transcript": TRANSCRIPT, "recording_url": RECORDING})
    assert r.status_code == 200 and r.json()["stored"] is True and r.json()["used"] is True
    call = api_call(api, ringing_id)
    assert (call["transcript"], call["recording_url"]) == (TRANSCRIPT, RECORDING)
    assert call["variables"] == {"summary": "renewal"}
    # a later report without them erases neither
    assert post_results(stack, {"appointment_booked": True}).status_code == 200
    assert api_call(api, ringing_id)["transcript"] == TRANSCRIPT
    # a judged call takes its transcript too (it is shown, never judged on), even with no variables
    r = post_report(stack, {"call_sid": call_sid(1), "variables": {}, "transcript": "Ana: booked."})
    assert r.status_code == 200 and r.json()["stored"] is True and r.json()["arrived_after_judging"] is False
    call = api_call(api, judged_id)
    assert call["transcript"] == "Ana: booked." and call["recording_url"] is None
    assert call["late_variables"] is None and call["outcome_reason"] == "goal met"


def test_a_transcript_before_the_call_sid_is_known_reaches_the_attempt(stack, api, hook, example):
    sid = call_sid(79)
    r = post_report(stack, {"call_sid": sid, "variables": {}, "transcript": "Ana: hello?", "recording_url": RECORDING})
    assert r.status_code == 202 and r.json()["stored"] is True and r.json()["call_known"] is False
    # the dialer that crashed before saving the SID is resolved later: the attempt learns it
    [lead] = hook.claim_due_leads(example["campaign_id"], example["now"], 1)
    attempt_id = hook.record_attempt(example["campaign_id"], lead, lead.phone_number, "+14155550100",
                                     example["now"]).attempt_id
    assert api_call(api, attempt_id)["transcript"] is None
    with hook.attempt_locked(attempt_id) as placing:  # as a dialer (or the orphan resolution) saves it
        placing.set_sid(sid)
    call = api_call(api, attempt_id)
    assert (call["transcript"], call["recording_url"]) == ("Ana: hello?", RECORDING)
    with hook.db.cursor() as cur:  # no variables came: the engine still waits for them
        cur.execute("select count(*) from outcall_call_variables where call_sid = %s", (sid,))
        assert cur.fetchone() == (0,)
    hook.db.commit()


@pytest.mark.parametrize("report, problem", [
    ({"recording_url": "javascript:alert(document.cookie)"}, "recording_url: must be an absolute http"),
    ({"recording_url": "ftp://recordings.example.com/a.mp3"}, "recording_url: must be an absolute http"),
    ({"recording_url": "recordings/a.mp3"}, "recording_url: must be an absolute http"),
    ({"recording_url": "https://"}, "recording_url: must be an absolute http"),
    ({"recording_url": "https://x.example.com/a b.mp3"}, "recording_url: must be an absolute http"),
    ({"recording_url": 42}, "recording_url: must be an absolute http"),
    ({"transcript": ["Ana: hi"]}, "transcript: list given, string expected"),
])
def test_a_bad_recording_url_or_transcript_is_refused_naming_the_field(stack, api, hook, example, report, problem):
    r = post_report(stack, {"call_sid": call_sid(3), "variables": {"summary": "x"},
                            "transcript": "kept?", **report})
    assert r.status_code == 422, r.text
    assert [p for p in r.json()["detail"]["problems"] if p.startswith(problem)], r.json()
    assert "document.cookie" not in r.text  # the value is not echoed
    call = api_call(api, example["attempts"][2])
    assert call["transcript"] is None and call["recording_url"] is None and call["variables"] is None


def test_an_opt_out_that_arrives_after_judging_still_lists_the_number_and_ends_the_lead(stack, hook, example,
                                                                                      campaigns_dir):
    """Issue 12 point 4: `compliance.opt_out_variable` true in a report that comes after the call
    was judged (the lead set to retry) puts the number on the DNC list and completes the lead."""
    import dataclasses

    from outcall_provider.campaign_files import find_campaign
    from outcall_provider.rules.compliance import Compliance

    campaign = find_campaign("example", campaigns_dir)
    assistant = dataclasses.replace(campaign.assistant, post_call_variables={
        **campaign.assistant.post_call_variables, "do_not_call": "boolean"})
    hook.upsert_campaign(dataclasses.replace(campaign, assistant=assistant,
                                             compliance=Compliance(opt_out_variable="do_not_call")), example["now"])
    busy = example["leads"][1]  # judged busy: due again for its next round
    r = post_results(stack, {"do_not_call": True}, sid=call_sid(2))
    assert r.status_code == 200 and r.json()["arrived_after_judging"] is True, r.text
    assert r.json()["note"].endswith("do_not_call is true: the number is on the do-not-call list")
    [entry] = hook.dnc_entries(busy.phone_number)
    assert entry["list"] == "opt-out" and call_sid(2) in entry["source"]
    with hook.db.cursor() as cur:
        cur.execute("select status, last_outcome from outcall_leads where id = %s", (busy.id,))
        assert cur.fetchone() == ("completed", "opted_out")
    hook.db.commit()
