"""The sandbox, driven through the real twilio client (and its control API over HTTP)."""
import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest
import requests
from sbtools import FAST, FROM, REPO, VOICE, Receiver, control, twilio_client, wait_ended, wait_until
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_NUMBER, Sandbox
from sandbox.outcomes import RANDOM_MIX

# -- the Twilio API -----------------------------------------------------------------------

def test_create_fetch_lifecycle_in_twilio_shape(sb):
    client = twilio_client(sb)
    before = float(client.balance.fetch().balance)
    call = client.calls.create(to="+14155550001", from_=FROM, url=VOICE,
                               machine_detection="Enable")
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert call.status == "queued" and call.start_time is None and call.duration is None
    assert call.direction == "outbound-api" and call.account_sid == sb.account_sid
    assert call.to == "+14155550001" and call._from == FROM
    assert call.uri == f"/2010-04-01/Accounts/{sb.account_sid}/Calls/{call.sid}.json"

    seen = set()
    done = wait_until(lambda: (seen.add((c := client.calls(call.sid).fetch()).status)
                               or (c.status == "completed" and c)))
    assert "completed" in seen and seen <= {"ringing", "in-progress", "completed"}
    assert done.answered_by == "human"
    assert 30 <= int(done.duration) <= 180
    assert done.price_unit == "USD"
    done = wait_until(lambda: (c := client.calls(call.sid).fetch()).price and c, 2)  # priced later
    assert re.fullmatch(r"-0\.0(13|26|39)0", done.price)
    assert done.start_time <= done.end_time and done.date_created.tzinfo is not None
    assert float(client.balance.fetch().balance) < before

    # The raw JSON uses Twilio's RFC 2822 dates and string durations.
    raw = requests.get(f"{sb.url}{call.uri}", auth=(sb.account_sid, sb.auth_token)).json()
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", raw["start_time"])
    assert isinstance(raw["duration"], str) and raw["price"].startswith("-")


def test_wrong_credentials_get_401_in_twilio_shape(sb):
    bad = Client(sb.account_sid, "wrong-token")
    bad.api.base_url = sb.url
    with pytest.raises(TwilioRestException) as err:
        bad.calls.create(to="+14155550001", from_=FROM, url=VOICE)
    assert err.value.status == 401 and err.value.code == 20003
    with pytest.raises(TwilioException, match="Unable to fetch page"):  # how twilio lists fail
        bad.calls.list(limit=1)
    wrong_account = Client("AC" + "f" * 32, sb.auth_token)
    wrong_account.api.base_url = sb.url
    with pytest.raises(TwilioRestException) as err:
        wrong_account.balance.fetch()
    assert err.value.status == 401
    assert sb.calls() == []
    response = requests.get(f"{sb.url}/2010-04-01/Accounts/{sb.account_sid}/Calls.json")
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "more_info", "status"}


@pytest.mark.parametrize("to, from_, code", [
    ("4155551000", FROM, 21211),         # not E.164
    ("+15551231000", FROM, 21211),       # area code 555: invalid
    ("+19005551000", FROM, 13224),       # premium rate: Twilio will not dial it
    ("+14155551000", "+14155559999", 21210),  # caller ID not owned by the account
])
def test_create_rejections(sb, to, from_, code):
    with pytest.raises(TwilioRestException) as err:
        twilio_client(sb).calls.create(to=to, from_=from_, url=VOICE)
    assert err.value.status == 400 and err.value.code == code
    assert sb.calls() == []


def test_numbers_balance_and_account(sb):
    client = twilio_client(sb)
    assert [n.phone_number for n in client.incoming_phone_numbers.list(phone_number=FROM)] == [FROM]
    assert client.incoming_phone_numbers.list(phone_number="+12125550000") == []
    balance = client.balance.fetch()
    assert (balance.account_sid, balance.balance, balance.currency) == \
        (sb.account_sid, "100.00", "USD")
    assert client.api.accounts(sb.account_sid).fetch().status == "active"


def test_list_pages_over_1000_calls_with_filters():
    other = "+14155550199"
    with Sandbox(cps=100_000, time_scale=FAST, phone_numbers=[FROM, other]) as sb:
        for i in range(2500):
            sb.create_call(To=f"+1415555{i % 5:04d}" if i % 2 else "+14155551111",
                           From=other if i % 10 == 0 else FROM, Url=VOICE)
        client = twilio_client(sb)
        now = datetime.now(timezone.utc)

        listed = client.calls.list(page_size=1000)
        assert len(listed) == 2500 and len({c.sid for c in listed}) == 2500
        assert [c.sid for c in listed] == [c["sid"] for c in reversed(sb.calls())]  # newest first
        assert sb.stats()["requests"]["calls.list"] == 3  # followed next_page_uri twice

        to_1111 = client.calls.list(to="+14155551111", page_size=1000)
        assert len(to_1111) == 1250 and {c.to for c in to_1111} == {"+14155551111"}
        from_other = client.calls.list(from_=other, to="+14155551111", page_size=100)
        assert len(from_other) == 250 and {c._from for c in from_other} == {other}
        window = client.calls.list(start_time_after=now - timedelta(minutes=5),
                                   start_time_before=now + timedelta(minutes=5),
                                   page_size=1000, limit=1200)
        assert len(window) == 1200
        assert client.calls.list(start_time_after=now + timedelta(minutes=5)) == []
        assert len(client.calls.list(start_time=now.date(), page_size=1000)) == 2500

        wait_until(lambda: sb.stats()["calls_by_status"].get("completed", 0) == 2500, 10)
        done = client.calls.list(status="completed", to="+14155550001", page_size=1000)
        assert len(done) == 250 and {c.status for c in done} == {"completed"}
        assert client.calls.list(status="busy", to="+14155550001") == []

        page = client.calls.page(page_size=1000)
        assert page.next_page_url and "PageToken=PA" in page.next_page_url


def test_10000_calls_in_flight_list_quickly():
    with Sandbox(cps=1, time_scale=60) as sb:  # CPS 1: nearly all of them wait in the queue
        t0 = time.monotonic()
        for i in range(10_000):
            sb.create_call(To=f"+1415556{i:04d}", From=FROM, Url=VOICE)
        seeded = time.monotonic() - t0
        client = twilio_client(sb)
        t0 = time.monotonic()
        calls = client.calls.list(page_size=1000)
        listed = time.monotonic() - t0
        assert len(calls) == 10_000
        assert len(client.calls.list(status="queued", page_size=1000)) >= 9_990
        assert seeded < 5 and listed < 5, (seeded, listed)


def test_cps_queues_calls_and_never_exceeds_the_rate():
    cps = 20
    with Sandbox(cps=cps, time_scale=FAST) as sb:
        client = twilio_client(sb)
        sids = [client.calls.create(to=f"+141555500{i:02d}", from_=FROM, url=VOICE).sid
                for i in range(10)]
        assert client.calls(sids[-1]).fetch().status == "queued"  # not refused, just waiting
        wait_until(lambda: all(client.calls(s).fetch().start_time for s in sids), 4)
        log = sb.calls()
        starts = sorted(datetime.fromisoformat(c["started_at"]).timestamp() for c in log)
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert min(gaps) >= 1 / cps - 1e-5  # iso strings keep microseconds
        assert starts[-1] - starts[0] >= 9 / cps - 1e-5
        created = [datetime.fromisoformat(c["created_at"]).timestamp() for c in log]
        assert all(s >= c for s, c in zip(starts, created))
        assert int(client.calls(sids[-1]).fetch().queue_time) >= 300  # ms


def test_cancel_queued_and_hang_up_live_calls():
    with Sandbox(cps=0.5, time_scale=30) as sb:
        client = twilio_client(sb)
        live = client.calls.create(to="+14155550002", from_=FROM, url=VOICE)
        queued = client.calls.create(to="+14155550003", from_=FROM, url=VOICE)
        canceled = client.calls(queued.sid).update(status="canceled")
        assert canceled.status == "canceled" and canceled.start_time is None
        assert canceled.duration == "0" and canceled.price is None

        wait_until(lambda: client.calls(live.sid).fetch().status == "in-progress", 3)
        hung_up = client.calls(live.sid).update(status="completed")
        assert hung_up.status == "completed" and int(hung_up.duration) >= 1
        with pytest.raises(TwilioRestException) as err:
            client.calls("CA" + "0" * 32).fetch()
        assert err.value.status == 404 and err.value.code == 20404


# -- the outcome table ------------------------------------------------------------------

TABLE = [  # number, status, answered_by (DetectMessageEnd), goal variable
    ("+14155550042", "completed", "human", True),
    ("+14155551042", "completed", "human", False),
    ("+14155552042", "completed", "machine_end_beep", None),
    ("+14155552742", "completed", "machine_end_silence", None),
    ("+14155552842", "completed", "machine_end_other", None),
    ("+14155552942", "completed", "unknown", None),
    ("+14155553042", "busy", None, None),
    ("+14155554042", "no-answer", None, None),
    ("+14155555042", "failed", None, None),
    ("+14155557042", "completed", "fax", None),
]


def test_outcome_table_rows(sb):
    client = twilio_client(sb)
    sids = {to: client.calls.create(to=to, from_=FROM, url=VOICE,
                                    machine_detection="DetectMessageEnd").sid
            for to, *_ in TABLE}
    for to, status, answered_by, goal in TABLE:
        call = wait_ended(client, sids[to])
        assert (call.status, call.answered_by) == (status, answered_by), to
        if status != "completed":
            assert call.duration == "0" and call.price is None
        variables = wait_until(lambda sid=sids[to]: sb.variables(sid), 2) if goal is not None \
            else sb.variables(sids[to])
        assert (variables or {}).get("appointment_booked") == goal, to
        if goal is not None:
            assert variables["summary"]


def test_amd_enable_reports_machine_start_and_no_amd_reports_nothing(sb):
    client = twilio_client(sb)
    enable = client.calls.create(to="+14155552001", from_=FROM, url=VOICE,
                                 machine_detection="Enable")
    plain = client.calls.create(to="+14155550001", from_=FROM, url=VOICE)
    assert wait_ended(client, enable.sid).answered_by == "machine_start"
    assert wait_ended(client, plain.sid).answered_by is None
    assert wait_until(lambda: sb.variables(plain.sid))["appointment_booked"] is True


def test_row_6_variables_arrive_late(sb):
    client = twilio_client(sb)
    sid = client.calls.create(to="+14155556000", from_=FROM, url=VOICE).sid
    assert wait_ended(client, sid).status == "completed"
    pending = control(sb, "GET", f"/_sandbox/calls/{sid}/variables")
    assert pending["state"] == "pending" and pending["variables"] is None
    ready = wait_until(lambda: (v := control(sb, "GET", f"/_sandbox/calls/{sid}/variables"))
                       ["state"] == "ready" and v, 3)
    assert ready["variables"]["appointment_booked"] is True


def test_row_8_goal_met_on_the_second_call(sb):
    client = twilio_client(sb)
    first = client.calls.create(to="+14155558000", from_=FROM, url=VOICE).sid
    wait_ended(client, first)
    second = client.calls.create(to="+14155558000", from_=FROM, url=VOICE).sid
    assert wait_until(lambda: sb.variables(first))["appointment_booked"] is False
    assert wait_until(lambda: sb.variables(second))["appointment_booked"] is True


def test_row_9_and_random_mix_are_seeded():
    numbers = [f"+1415555{i:04d}" for i in range(600)]

    def outcomes(seed, mix, nums):
        with Sandbox(seed=seed, random_mix=mix, cps=10_000, time_scale=FAST) as sb:
            for n in nums:
                sb.create_call(To=n, From=FROM, Url=VOICE)
            return [c["outcome"] for c in sb.calls()]

    mixed = outcomes(7, True, numbers)
    assert mixed == outcomes(7, True, numbers)
    assert mixed != outcomes(8, True, numbers)
    assert set(mixed) == set(RANDOM_MIX)
    assert 0.1 < mixed.count("human_goal_met") / len(mixed) < 0.3
    nines = [n for n in numbers if n[-4] == "9"] or ["+14155559000", "+14155559001"]
    assert set(outcomes(7, False, nines)) <= set(RANDOM_MIX)
    assert outcomes(7, False, numbers[:50]) == ["human_goal_met"] * 50  # row 0 without mix


# -- faults -----------------------------------------------------------------------------

def test_fault_injection_429_and_500(sb):
    client = twilio_client(sb)
    control(sb, "POST", "/_sandbox/faults", {"status_429": 2, "status_500": 1})
    codes = []
    for _ in range(3):
        with pytest.raises(TwilioRestException) as err:
            client.calls.create(to="+14155550001", from_=FROM, url=VOICE)
        codes.append((err.value.status, err.value.code))
    assert sorted(codes) == [(429, 20429), (429, 20429), (500, 20500)]
    assert sb.calls() == []  # refused before anything was created
    assert client.calls.create(to="+14155550001", from_=FROM, url=VOICE).sid
    stats = control(sb, "GET", "/_sandbox/stats")
    assert stats["responses"]["calls.create 429"] == 2
    assert stats["responses"]["calls.create 201"] == 1


def test_fault_after_create_hides_the_sid_but_list_finds_the_call(sb):
    client = twilio_client(sb)
    sb.set_faults(status_500=1, after_create=True)
    with pytest.raises(TwilioRestException) as err:
        client.calls.create(to="+14155550005", from_=FROM, url=VOICE)
    assert err.value.status == 500
    found = client.calls.list(to="+14155550005", from_=FROM)
    assert len(found) == 1 and found[0].sid == sb.calls()[0]["sid"] and found[0].date_created


def test_timeout_fault_and_latency(sb):
    client = twilio_client(sb, timeout=0.3)
    sb.set_faults(timeout=1, timeout_seconds=1, endpoint="calls.list")
    with pytest.raises(requests.exceptions.RequestException):
        client.calls.list(limit=1)
    assert client.calls.list(limit=1) == []
    sb.set_faults(latency_ms=150)
    t0 = time.monotonic()
    client.balance.fetch()
    assert time.monotonic() - t0 >= 0.15
    control(sb, "POST", "/_sandbox/faults", {})
    assert control(sb, "GET", "/_sandbox/faults")["latency_ms"] == 0


# -- callbacks ----------------------------------------------------------------------------

def test_status_callbacks_are_signed_like_twilio(sb, receiver):
    client = twilio_client(sb)
    url = receiver.url + "/twilio/status?campaign=spring"
    call = client.calls.create(to="+14155550007", from_=FROM, url=VOICE, status_callback=url,
                               status_callback_event=["initiated", "ringing", "answered",
                                                      "completed"],
                               machine_detection="Enable")
    got = receiver.wait_for(4)
    params = [dict(parse_qsl(r["body"].decode())) for r in got]
    assert [p["CallStatus"] for p in params] == ["initiated", "ringing", "in-progress",
                                                 "completed"]
    assert [p["SequenceNumber"] for p in params] == ["0", "1", "2", "3"]
    validator = RequestValidator(sb.auth_token)
    for request, p in zip(got, params):
        assert request["path"] == "/twilio/status?campaign=spring"
        assert validator.validate(url, p, request["headers"]["X-Twilio-Signature"])
        assert not validator.validate(url, dict(p, CallStatus="x"),
                                      request["headers"]["X-Twilio-Signature"])
        assert (p["CallSid"], p["AccountSid"], p["From"], p["To"]) == \
            (call.sid, sb.account_sid, FROM, "+14155550007")
        assert p["Direction"] == "outbound-api" and p["ApiVersion"] == "2010-04-01"
        assert p["CallbackSource"] == "call-progress-events" and p["Timestamp"]
    last = params[-1]
    assert last["AnsweredBy"] == "human" and 30 <= int(last["CallDuration"]) <= 180


def test_status_callback_defaults_to_completed_only(sb, receiver):
    client = twilio_client(sb)
    client.calls.create(to="+14155553001", from_=FROM, url=VOICE,
                        status_callback=receiver.url + "/cb")
    got = receiver.wait_for(1)
    time.sleep(0.2)
    assert len(receiver.requests) == 1
    assert dict(parse_qsl(got[0]["body"].decode()))["CallStatus"] == "busy"


def test_a_slow_receiver_slows_each_callback_not_the_calls_behind_it():
    """Twilio sends each callback as a request of its own: 16 calls ending together, to a
    receiver that answers in 1 s, all hear back in about 1 s, not one after another."""
    slow = Receiver(delay=1.0)
    try:
        with Sandbox(cps=1000, time_scale=FAST) as sandbox:
            client = sandbox.client()
            for i in range(16):
                client.calls.create(to=f"+141555501{i:02d}", from_=FROM, url=VOICE,
                                    status_callback=slow.url + "/cb")
            assert len(slow.wait_for(16)) == 16
            wait_until(lambda: sandbox.stats()["callbacks_pending"] == 0, 5)
            sent = [cb for call in sandbox.calls() for cb in call["callbacks"]]
    finally:
        slow.close()
    assert len(sent) == 16 and all(cb["took_s"] >= 1.0 for cb in sent)
    assert max(cb["delivered_after_s"] for cb in sent) < 1.8


def test_canceled_call_reports_by_signed_get_callback(receiver):
    with Sandbox(cps=0.5, time_scale=FAST) as sb:
        client = twilio_client(sb)
        client.calls.create(to="+14155550010", from_=FROM, url=VOICE)
        url = receiver.url + "/cb?x=1"
        queued = client.calls.create(to="+14155550011", from_=FROM, url=VOICE,
                                     status_callback=url, status_callback_method="GET",
                                     status_callback_event="initiated completed")
        client.calls(queued.sid).update(status="canceled")
        got = receiver.wait_for(1)
    assert len(got) == 1  # never left the queue: no 'initiated'
    full_url = receiver.url + got[0]["path"]
    params = dict(parse_qsl(full_url.split("?", 1)[1]))
    assert params["CallStatus"] == "canceled" and params["CallDuration"] == "0"
    assert RequestValidator(sb.auth_token).validate(
        full_url, {}, got[0]["headers"]["X-Twilio-Signature"])


def test_assistant_results_post_is_hmac_signed(receiver):
    hooked = []
    with Sandbox(cps=100, time_scale=FAST, assistant_results_url=receiver.url + "/results",
                 assistant_secret="s3cret", goal_variable="renewed",
                 on_variables=lambda sid, v: hooked.append((sid, v))) as sb:
        client = twilio_client(sb)
        human = client.calls.create(to="+14155550008", from_=FROM, url=VOICE).sid
        voicemail = client.calls.create(to="+14155552008", from_=FROM, url=VOICE).sid
        got = receiver.wait_for(1)
        wait_ended(client, voicemail)
        time.sleep(0.1)
    assert len(got) == 1 and len(receiver.requests) == 1  # voicemail reports nothing
    body, headers = got[0]["body"], got[0]["headers"]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Outcall-Signature"], expected)
    payload = json.loads(body)
    assert payload["call_sid"] == human and payload["variables"]["renewed"] is True
    assert hooked == [(human, payload["variables"])]


# -- control API and CLI ----------------------------------------------------------------

def test_control_api_log_stats_and_reset(sb):
    client = twilio_client(sb)
    sid = client.calls.create(to="+14155550009", from_=FROM, url=VOICE).sid
    client.calls.create(to="+14155550009", from_=FROM, url=VOICE)
    client.calls.create(to="+14155550010", from_=FROM, url=VOICE)
    stats = control(sb, "GET", "/_sandbox/stats")
    assert (stats["calls"], stats["numbers_called"]) == (3, 2)
    log = control(sb, "GET", "/_sandbox/calls?to=%2B14155550009")["calls"]
    assert log[0]["sid"] == sid and len(log) == 2
    entry = log[0]
    assert {"to", "from", "created_at", "started_at", "status", "outcome"} <= set(entry)
    assert len(control(sb, "GET", "/_sandbox/calls")["calls"]) == 3
    assert control(sb, "GET", "/_sandbox/stats")["requests"]["calls.create"] == 3
    control(sb, "POST", "/_sandbox/reset")
    assert control(sb, "GET", "/_sandbox/calls")["calls"] == []
    assert control(sb, "GET", "/_sandbox/stats")["requests"] == {}


def test_python_m_sandbox_prints_url_and_credentials():
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", "--cps", "2",
                             "--number", "+14155550123", "--price-delay", "0.5",
                             "--allow-country", "44"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        assert DEFAULT_ACCOUNT_SID in lines[1] and DEFAULT_AUTH_TOKEN in lines[2]
        client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
        client.api.base_url = url
        numbers = {n.phone_number for n in client.incoming_phone_numbers.list()}
        assert numbers == {DEFAULT_NUMBER, "+14155550123"}
        assert "price_delay=0.5s" in lines[4] and "countries=+1,+44" in lines[4]
        assert client.calls.create(to="+447911120000", from_=DEFAULT_NUMBER, url=VOICE).sid
        with pytest.raises(TwilioRestException) as err:
            client.calls.create(to="+33612340000", from_=DEFAULT_NUMBER, url=VOICE)
        assert err.value.code == 21215
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
