"""TwilioHook through the real twilio client against the sandbox."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from outcall_provider.hooks.twilio import CallNotPlaced, TwilioHook


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


def test_voice_url_carries_the_lead_and_machine_detection(twilio):
    sb, connect = twilio
    sid = connect().place_call("+14155550123", "+14155550100", voice_url="https://assistant.example.com/voice",
                               parameters={"lead_id": 7, "campaign": "spring", "first_name": "Ana & Rui"})
    params = sb.call(sid)["params"]
    url = urlsplit(params["Url"])
    assert url.netloc == "assistant.example.com"
    assert parse_qs(url.query) == {"lead_id": ["7"], "campaign": ["spring"], "first_name": ["Ana & Rui"]}
    assert params["MachineDetection"] == "Enable" and params["Timeout"] == "30"
    assert "StatusCallback" not in params  # no callback_base_url: poll only


def test_stream_url_connects_a_media_stream_with_parameters(twilio):
    sb, connect = twilio
    sid = connect().place_call("+14155550124", "+14155550100", stream_url="wss://assistant.example.com/media",
                               parameters={"lead_id": 8, "note": 'say "hi" <now>'})
    twiml = sb.call(sid)["params"]["Twiml"]
    assert twiml.startswith('<Response><Connect><Stream url="wss://assistant.example.com/media">')
    assert '<Parameter name="lead_id" value="8"/>' in twiml
    assert "&lt;now&gt;" in twiml and "<now>" not in twiml  # values are escaped


def test_status_callbacks_name_a_non_default_connection(twilio):
    sb, connect = twilio
    hook = connect("twilio_sales", callback_base_url="https://airflow.example.com/")
    sid = hook.place_call("+14155550125", "+14155550100", voice_url="https://a.example.com/v")
    params = sb.call(sid)["params"]
    assert params["StatusCallback"] == "https://airflow.example.com/outcall/webhooks/twilio/status?conn_id=twilio_sales"
    assert params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]


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
