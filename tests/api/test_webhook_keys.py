"""The webhooks' keys: read from Airflow's connections at most every CONNECTION_TTL_S, yet a key
rotated in a connection applies to the next request (a check that fails on a cached read reads
again), and the old key stops working with it."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi import HTTPException
from starlette.datastructures import URL
from twilio.request_validator import RequestValidator

from outcall_provider.api import webhooks

STATUS_URL = "https://airflow.example.com/outcall/webhooks/twilio/status"
# A status no call has: once verified, the callback is ignored without touching a store.
FORM = {"CallSid": "CA" + "0" * 32, "CallStatus": "not-a-status", "SequenceNumber": "3"}


@pytest.fixture
def connection(monkeypatch):
    """set(conn_id, password): the connection as Airflow reads it (an AIRFLOW_CONN_ variable)."""
    webhooks._connections.clear()

    def set_password(conn_id: str, password: str, **extra) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(
            {"conn_type": "twilio", "login": "AC" + "1" * 32, "password": password, "extra": extra}))

    yield set_password
    webhooks._connections.clear()


def twilio_signed(token: str) -> bool:
    """Whether a callback signed with `token` passes the webhook's check (403 otherwise)."""
    signature = RequestValidator(token).compute_signature(STATUS_URL, FORM)
    try:
        webhooks._verify_and_apply_status(URL(STATUS_URL), FORM, signature)
    except HTTPException as e:
        assert e.status_code == 403
        return False
    return True


def assistant_signed(secret: str, body: bytes = b'{"call_sid": "x"}') -> bool:
    header = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return webhooks._assistant_signed(body, header)


def test_a_rotated_twilio_auth_token_applies_at_once_and_the_old_one_stops(connection):
    connection("twilio_default", "old-token")
    assert twilio_signed("old-token")
    connection("twilio_default", "new-token")  # rotated within the cache's lifetime
    assert twilio_signed("new-token")
    assert not twilio_signed("old-token")


def test_a_rotated_assistant_secret_applies_at_once_and_the_old_one_stops(connection):
    connection(webhooks.ASSISTANT_CONN_ID, "old-secret")
    assert assistant_signed("old-secret")
    connection(webhooks.ASSISTANT_CONN_ID, "new-secret")
    assert assistant_signed("new-secret")
    assert not assistant_signed("old-secret")


def test_a_connection_defined_after_a_refusal_is_used_at_once(connection, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_OUTCALL_ASSISTANT", raising=False)
    assert not assistant_signed("secret")  # no connection: nothing can be verified
    connection(webhooks.ASSISTANT_CONN_ID, "secret")
    assert assistant_signed("secret")


def test_an_empty_key_verifies_nothing(connection):
    connection(webhooks.ASSISTANT_CONN_ID, "")
    assert not assistant_signed("")
