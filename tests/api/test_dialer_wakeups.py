"""What wakes a dialer waiting in Airflow's triggerer, through the real API server: a status
callback that ends a call (a NOTIFY from the webhook), and the DAG's pause toggle, which the
API server tells only a caller holding a token signed with Airflow's own key."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from outcall_provider.dialer_token import AUDIENCE, PAUSED_PATH
from outcall_provider.hooks.call_ends import CallEnds
from outcall_provider.triggers.dial import PausedBoard

from .test_webhooks import post_status, status_form

PAUSED_URL = PAUSED_PATH


def waiting(ends: CallEnds, campaign_id: int, timeout: float) -> dict:
    """Start a dialer-like wait in a thread; the dict gets `woken` and `after` seconds."""
    out: dict = {}

    def run():
        started = time.monotonic()
        out["woken"] = ends.wait(campaign_id, timeout)
        out["after"] = time.monotonic() - started

    out["thread"] = threading.Thread(target=run, daemon=True)
    out["thread"].start()
    time.sleep(0.2)  # the wait has begun
    return out


def test_a_callback_that_ends_a_call_wakes_its_campaigns_dialers_at_once(stack, hook, example):
    ends = CallEnds(hook.get_conn, "test")
    assert ends.listening(), "the LISTEN connection did not start"
    cid = example["campaign_id"]

    still_ringing = waiting(ends, cid, 3)
    assert post_status(stack, {**status_form(2, "in-progress"), "AnsweredBy": ""}).status_code == 204
    still_ringing["thread"].join(5)
    assert still_ringing["woken"] is False  # a call that goes on frees no line

    other_campaign = waiting(ends, cid + 1, 3)
    ended = waiting(ends, cid, 30)
    assert post_status(stack, status_form(5, "completed")).status_code == 204
    ended["thread"].join(30)
    assert ended["woken"] is True and ended["after"] < 3, ended
    other_campaign["thread"].join(5)
    assert other_campaign["woken"] is False


def dialer_token(stack, **overrides) -> str:
    from airflow.api_fastapi.auth.tokens import JWTGenerator

    args = {"secret_key": stack.env["AIRFLOW__API_AUTH__JWT_SECRET"], "audience": AUDIENCE,
            "valid_for": 60, **overrides}
    return JWTGenerator(**args).generate({"sub": "outcall-dialer"})


def ask(stack, token: str | None, *dag_ids: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(stack.url + PAUSED_URL, params={"dag_id": list(dag_ids)}, headers=headers, timeout=30)


@pytest.mark.parametrize("token", [None, "not-a-jwt", "wrong-key", "wrong-audience", "expired"])
def test_the_pause_states_are_told_only_to_a_token_signed_with_airflows_key(stack, token):
    tokens = {"wrong-key": lambda: dialer_token(stack, secret_key="another-airflows-secret-0123456789"),
              "wrong-audience": lambda: dialer_token(stack, audience="urn:airflow.apache.org:task"),
              "expired": lambda: dialer_token(stack, valid_for=-120)}
    r = ask(stack, tokens[token]() if token in tokens else token, "campaign_example")
    assert r.status_code == 403 and "campaign_example" not in r.text


def test_dialers_learn_the_pause_toggle_within_seconds(stack, monkeypatch):
    headers = {"Authorization": f"Bearer {stack.token()}"}

    def toggle(paused: bool) -> None:
        httpx.patch(f"{stack.url}/api/v2/dags/campaign_example", json={"is_paused": paused},
                    headers=headers, timeout=30).raise_for_status()

    toggle(True)
    # only campaign DAGs are answered; a DAG that is not one is not even looked up
    assert ask(stack, dialer_token(stack), "campaign_example", "campaign_gone", "example_dag").json() == {
        "campaign_example": True}

    # the trigger side: Airflow's configuration, as every component of this Airflow has it
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", stack.env["AIRFLOW__API_AUTH__JWT_SECRET"])
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", stack.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    board = PausedBoard()
    with board.watching("campaign_example"), board.watching("campaign_gone"):
        assert board.paused("campaign_example") is True
        assert board.paused("campaign_gone") is True  # Airflow has no such DAG: no call on a guess
        toggle(False)
        deadline = time.monotonic() + 10
        while board.paused("campaign_example") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert board.paused("campaign_example") is False
    toggle(True)


def test_a_dialer_that_cannot_reach_the_api_server_makes_no_call(monkeypatch, stack):
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", stack.env["AIRFLOW__API_AUTH__JWT_SECRET"])
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://127.0.0.1:9/execution/")
    board = PausedBoard()
    with board.watching("campaign_example"):
        assert board.paused("campaign_example") is True


class SlowAnswers:
    """An API server too busy to answer the pause question for `delay` seconds (a tick boundary
    with many task runs): a loopback HTTP server that says every DAG asked about is unpaused."""

    def __init__(self, delay: float):
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                time.sleep(delay)
                dag_ids = parse_qs(urlparse(self.path).query).get("dag_id", [])
                body = json.dumps({d: False for d in dag_ids}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_a_slow_pause_answer_holds_up_no_other_dialer(monkeypatch):
    """One dialer asks for every DAG; the others go on with the last answer meanwhile. Each
    dialer asks before each call, so waiting on the asker would stop every campaign's calls
    for as long as a busy API server takes to answer."""
    from outcall_provider.triggers.dial import PAUSE_ASK_SECONDS

    api = SlowAnswers(delay=2.0)
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "a-test-secret-of-sufficient-length-0123456789")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"{api.url}/execution/")
    board = PausedBoard()
    try:
        with board.watching("campaign_a"), board.watching("campaign_b"):
            assert board.paused("campaign_a") is False  # the first answer: this caller waits for it
            time.sleep(PAUSE_ASK_SECONDS)  # the next ask is due
            asker = threading.Thread(target=board.paused, args=("campaign_a",), daemon=True)
            asker.start()
            time.sleep(0.3)  # it is asking, for 2 s
            started = time.monotonic()
            assert board.paused("campaign_b") is False
            assert time.monotonic() - started < 0.5, "a dialer waited for another's pause question"
            asker.join(5)
    finally:
        api.close()


def test_a_pause_answer_too_old_counts_as_paused(monkeypatch):
    """Issue 21 point 2.9: an API server that answered "unpaused" once and then stops answering
    must not keep the dialers calling on that answer; past the age limit it counts as unknown."""
    from outcall_provider.triggers import dial

    monkeypatch.setattr(dial, "PAUSE_ANSWER_MAX_AGE_SECONDS", 4.0, raising=False)  # 30 s in production
    api = SlowAnswers(delay=0.0)
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "a-test-secret-of-sufficient-length-0123456789")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"{api.url}/execution/")
    board = PausedBoard()
    with board.watching("campaign_a"):
        assert board.paused("campaign_a") is False
        api.close()  # the API server goes away: every later question fails
        api.server.server_close()
        time.sleep(dial.PAUSE_ASK_SECONDS + 0.1)
        assert board.paused("campaign_a") is False  # a failed ask keeps a fresh enough answer
        time.sleep(2.5)  # the one answer is now 4.6 s old
        assert board.paused("campaign_a") is True, "a dialer went on calling on a stale answer"
