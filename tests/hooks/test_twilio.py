"""TwilioHook through the real twilio client against the sandbox."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from outcall_provider.hooks.twilio import CallNotPlaced, TwilioAccountError, TwilioHook


@pytest.fixture
def twilio(monkeypatch):
    from sandbox import Sandbox

    with Sandbox(cps=50, time_scale=600) as sb:
        def connect(conn_id="twilio_default", **extra):
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
                "conn_type": "twilio", "login": sb.config.account_sid, "password": sb.config.auth_token,
                "extra": {"base_url": sb.url, **extra}}))
            return TwilioHook(conn_id)
        yield sb, connect


def test_voice_url_carries_only_outcall_ids_and_machine_detection(twilio):
    sb, connect = twilio
    sid = connect().place_call("+14155550123", "+14155550100", voice_url="https://assistant.example.com/voice",
                               parameters={"lead_id": 7, "campaign": "spring"},
                               variables={"first_name": "Ana & Rui", "balance": "1200"})
    params = sb.call(sid)["params"]
    url = urlsplit(params["Url"])
    assert url.netloc == "assistant.example.com"
    assert parse_qs(url.query) == {"lead_id": ["7"], "campaign": ["spring"]}  # lead data is never in a URL
    assert "Ana" not in params["Url"] and "Twiml" not in params
    assert params["MachineDetection"] == "Enable" and params["Timeout"] == "30"
    assert "StatusCallback" not in params  # no callback_base_url: poll only


def test_stream_url_connects_a_media_stream_with_parameters(twilio):
    sb, connect = twilio
    sid = connect().place_call("+14155550124", "+14155550100", stream_url="wss://assistant.example.com/media",
                               parameters={"lead_id": 8, "campaign": "spring"},
                               variables={"note": 'say "hi" <now>', "lead_id": "1", "campaign": "other"})
    twiml = sb.call(sid)["params"]["Twiml"]
    assert twiml.startswith('<Response><Connect><Stream url="wss://assistant.example.com/media">')
    assert '<Parameter name="lead_id" value="8"/>' in twiml and '<Parameter name="campaign" value="spring"/>' in twiml
    assert twiml.count("lead_id") == twiml.count('name="campaign"') == 1  # a variable never replaces an id
    assert "&lt;now&gt;" in twiml and "<now>" not in twiml  # values are escaped


def test_status_callbacks_name_a_non_default_connection(twilio):
    sb, connect = twilio
    hook = connect("twilio_sales", callback_base_url="https://airflow.example.com/")
    sid = hook.place_call("+14155550125", "+14155550100", voice_url="https://a.example.com/v")
    params = sb.call(sid)["params"]
    assert params["StatusCallback"] == "https://airflow.example.com/outcall/webhooks/twilio/status?conn_id=twilio_sales"
    assert params["StatusCallbackEvent"] == ["answered", "completed"]  # what frees a line, and a person


def test_account_checks(twilio):
    _, connect = twilio
    hook = connect()
    assert hook.owns_number("+14155550100") and not hook.owns_number("+14155550199")
    balance, currency = hook.balance()
    assert balance == 100.0 and currency == "USD"
    assert hook.calls_per_second == 1  # the default when the extra is not set


def test_an_invalid_number_is_refused_for_good(twilio):
    _, connect = twilio
    with pytest.raises(CallNotPlaced) as error:
        connect().place_call("+19005550100", "+14155550100", voice_url="https://a.example.com/v")
    assert error.value.code == 13224


def test_status_callbacks_name_the_campaigns_store(twilio):
    """Point 11: the webhook writes to the store of the campaign the call belongs to."""
    sb, connect = twilio
    hook = connect(callback_base_url="https://airflow.example.com")
    sid = hook.place_call("+14155550126", "+14155550100", voice_url="https://a.example.com/v",
                          store_conn_id="outcall_db_eu")
    assert sb.call(sid)["params"]["StatusCallback"] == \
        "https://airflow.example.com/outcall/webhooks/twilio/status?db_conn_id=outcall_db_eu"


@pytest.mark.parametrize("to, code", [("+19075550100", 21214), ("+18085550100", 21217),
                                      ("+14065550100", 13223), ("+19005550100", 13224)])
def test_number_codes_blame_the_number(twilio, to, code):
    """Point 3: only number-specific codes say the number is bad."""
    _, connect = twilio
    with pytest.raises(CallNotPlaced) as error:
        connect().place_call(to, "+14155550100", voice_url="https://a.example.com/v")
    assert error.value.code == code


@pytest.mark.parametrize("to, from_, url, code", [
    ("+14155550127", "+14155550199", "https://a.example.com/v", 21210),   # caller ID not owned
    ("+14155550127", "+14155550100", "ftp://a.example.com/v", 21205),     # bad URL
])
def test_account_codes_never_blame_the_number(twilio, to, from_, url, code):
    """Point 3: 21210 and 21205 are problems of the account or campaign, not of a number."""
    sb, connect = twilio
    with pytest.raises(TwilioAccountError) as error:
        connect().place_call(to, from_, voice_url=url)
    assert error.value.code == code
    assert sb.calls() == []


def test_a_geo_permission_refusal_is_the_destinations_not_the_accounts(twilio):
    """21215 refuses one destination (here +44, outside the account's geo permissions): the
    contact is skipped, the dialer goes on (rules/twilio_errors.py)."""
    sb, connect = twilio
    with pytest.raises(CallNotPlaced) as error:
        connect().place_call("+447700900123", "+14155550100", voice_url="https://a.example.com/v")
    assert error.value.code == 21215 and "Account not authorized to call" in error.value.message
    assert sb.calls() == []


def test_a_twiml_over_4000_characters_is_the_leads_not_the_accounts(twilio):
    """A lead whose variables make the <Stream> TwiML longer than Twilio's 4,000 characters: 32018."""
    sb, connect = twilio
    with pytest.raises(CallNotPlaced) as error:
        connect().place_call("+14155550131", "+14155550100", stream_url="wss://assistant.example.com/media",
                             parameters={"lead_id": 9, "notes": "n" * 4000})
    assert error.value.code == 32018
    assert sb.calls() == []


def test_bad_credentials_are_an_account_problem(twilio, monkeypatch):
    sb, _ = twilio
    monkeypatch.setenv("AIRFLOW_CONN_TWILIO_BAD", json.dumps({
        "conn_type": "twilio", "login": sb.config.account_sid, "password": "wrong", "extra": {"base_url": sb.url}}))
    with pytest.raises(TwilioAccountError, match="20003.*Auth Token"):
        TwilioHook("twilio_bad").place_call("+14155550128", "+14155550100", voice_url="https://a.example.com/v")


def test_times_sent_to_twilio_are_utc(twilio):
    """Point 2: twilio-python writes a datetime with a literal Z without converting it; a
    filter in another zone must still mean the same instant."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    sb, connect = twilio
    hook = connect()
    sid = hook.place_call("+14155550129", "+14155550100", voice_url="https://a.example.com/v")
    tokyo = (datetime.now(timezone.utc) - timedelta(seconds=30)).astimezone(ZoneInfo("Asia/Tokyo"))
    deadline = datetime.now(timezone.utc) + timedelta(seconds=10)
    while sb.call(sid)["started_at"] is None and datetime.now(timezone.utc) < deadline:
        pass
    assert [c.sid for c in hook.list_calls(from_="+14155550100", start_time_after=tokyo)] == [sid]
    assert [c.sid for c in hook.calls_created_since("+14155550129", "+14155550100", tokyo)] == [sid]
    later = datetime.now(timezone.utc).astimezone(ZoneInfo("America/Los_Angeles")) + timedelta(seconds=30)
    assert hook.calls_created_since("+14155550129", "+14155550100", later) == []


def test_429_retries_take_a_pacing_slot_each(twilio):
    """Point 12: a retry after 429 is a send like any other: it waits for its CPS slot."""
    sb, connect = twilio
    sb.set_faults(status_429=2, endpoint="calls.create")
    tries = []
    sid = connect().place_call("+14155550130", "+14155550100", voice_url="https://a.example.com/v",
                               before_each_try=lambda: tries.append(1))
    assert len(tries) == 3 and [c["sid"] for c in sb.calls()] == [sid]


def test_extras_default_as_the_connection_form_shows_them(twilio):
    """Each extra the hook reads is a field of the form, with the default the hook uses."""
    from outcall_provider.provider_info import get_provider_info

    _, connect = twilio
    (twilio_type,) = get_provider_info()["connection-types"]
    fields = twilio_type["conn-fields"]
    hook = connect()
    assert hook.calls_per_second == fields["calls_per_second"]["schema"]["default"] == 1
    assert hook.min_balance == fields["min_balance"]["schema"]["default"] == 1.0
    assert fields["base_url"]["schema"]["default"] == "https://api.twilio.com"
    assert fields["http_timeout"]["schema"]["default"] == 15
    assert connect("twilio_floor", min_balance=0).min_balance == 0  # 0 is a floor, not "unset"
    assert connect("twilio_floor_form", min_balance="").min_balance == 1.0  # an emptied form field


def test_test_button_says_account_numbers_and_balance(twilio):
    sb, connect = twilio
    ok, message = connect().test_connection()
    assert ok, message
    sid = sb.config.account_sid
    assert message == f"Connected to account AC…{sid[-4:]}: 1 phone number, balance 100.00 USD"


def test_a_subaccount_without_a_balance_is_said_not_raised():
    """Twilio may answer {"balance": null} for a child account: the hook says None, and the
    Test button says so in words instead of failing."""
    from sandbox import Sandbox

    with Sandbox(cps=50, time_scale=600, balance=None) as sb:
        import os
        os.environ["AIRFLOW_CONN_TWILIO_CHILD"] = json.dumps({
            "conn_type": "twilio", "login": sb.config.account_sid, "password": sb.config.auth_token,
            "extra": {"base_url": sb.url}})
        try:
            hook = TwilioHook("twilio_child")
            assert hook.balance() == (None, "USD")
            ok, message = hook.test_connection()
        finally:
            os.environ.pop("AIRFLOW_CONN_TWILIO_CHILD")
    assert ok, message
    assert message.startswith("Connected to account AC…") and "1 phone number" in message
    assert ("the balance is not reported for this account (a subaccount's balance is its parent's); "
            "the floor is not checked") in message


def test_test_button_with_a_wrong_token_says_twilio_refused_it(twilio, monkeypatch):
    sb, _ = twilio
    wrong = "wrong-token-0123456789"
    monkeypatch.setenv("AIRFLOW_CONN_TWILIO_WRONG", json.dumps({
        "conn_type": "twilio", "login": sb.config.account_sid, "password": wrong, "extra": {"base_url": sb.url}}))
    ok, message = TwilioHook("twilio_wrong").test_connection()
    assert not ok
    assert "answered 401, error 20003" in message and "Authenticate" in message
    assert "Account SID and the Auth Token" in message
    assert wrong not in message and sb.config.auth_token not in message


def test_test_button_with_an_unreachable_base_url_names_it(twilio):
    sb, connect = twilio
    ok, message = connect("twilio_nowhere", base_url="http://127.0.0.1:9").test_connection()
    assert not ok
    assert message == "cannot reach the Twilio API at http://127.0.0.1:9: [Errno 111] Connection refused"
    assert sb.config.auth_token not in message


def test_test_button_names_an_extra_that_is_not_a_number(twilio):
    _, connect = twilio
    ok, message = connect("twilio_typo", http_timeout="fifteen").test_connection()
    assert not ok and message == "connection twilio_typo: extra http_timeout must be a number, not 'fifteen'"


def test_test_button_on_a_server_that_is_not_twilio_says_so(twilio):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class NotTwilio(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not here!")

        def log_message(self, *args):
            pass

    _, connect = twilio
    with ThreadingHTTPServer(("127.0.0.1", 0), NotTwilio) as server:
        Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        ok, message = connect("twilio_elsewhere", base_url=url).test_connection()
        server.shutdown()
    assert not ok and message == f"{url} answered 404: Unable to fetch record"
