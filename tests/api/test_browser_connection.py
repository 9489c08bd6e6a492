"""The Twilio connection in the Airflow UI (headless Chromium): its form shows outcall's fields,
and its Test button reaches the account through `base_url` (the sandbox) and says what it found,
or why not. A server of its own: connection testing is off unless Airflow is told otherwise."""
from __future__ import annotations

import json

import httpx
import pytest
from airflow_stack import airflow_stack
from playwright.sync_api import expect, sync_playwright

from sandbox import Sandbox

from .test_browser import ARTIFACTS, CHROMIUM_ARGS, sign_in

pytestmark = pytest.mark.browser
CONN_ID = "twilio_form"
NUMBERS = ["+14155550100", "+14155550101", "+14155550102"]
WRONG_TOKEN = "not-the-auth-token-0123456789"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(phone_numbers=NUMBERS, balance=12.34) as sb:
        yield sb


@pytest.fixture(scope="module")
def stack(pg_url, tmp_path_factory):
    with airflow_stack(pg_url, dags_folder=tmp_path_factory.mktemp("no-dags"),
                       extra_env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}) as s:
        yield s


@pytest.fixture(scope="module")
def connection(stack, sandbox):
    """A `twilio` connection in Airflow's metadata DB pointing at the sandbox, with every extra
    (as the form's Add saves it: the edit form shows only the extras a connection has)."""
    headers = stack.headers()
    extra = {"base_url": sandbox.url, "calls_per_second": 1, "callback_base_url": None, "min_balance": 1,
             "http_timeout": 15}
    r = httpx.post(f"{stack.url}/api/v2/connections", headers=headers, timeout=30, json={
        "connection_id": CONN_ID, "conn_type": "twilio", "login": sandbox.config.account_sid,
        "password": sandbox.config.auth_token, "extra": json.dumps(extra)})
    assert r.status_code == 201, r.text
    yield CONN_ID
    httpx.delete(f"{stack.url}/api/v2/connections/{CONN_ID}", headers=headers, timeout=30)


@pytest.fixture
def page(stack, connection):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield sign_in(browser.new_context(viewport={"width": 1400, "height": 1100}).new_page(), stack.url)
        browser.close()


def connection_row(page, stack):
    page.goto(f"{stack.url}/connections")
    row = page.get_by_role("row").filter(has_text=CONN_ID)
    expect(row).to_be_visible(timeout=30_000)
    return row


def test_the_twilio_form_shows_outcalls_fields_and_its_test_button_checks_the_account(page, stack, sandbox):
    row = connection_row(page, stack)
    row.get_by_role("button", name="Edit Connection").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("Account SID", exact=True)).to_be_visible()
    expect(form.get_by_text("Auth Token", exact=True)).to_be_visible()
    expect(form.get_by_text("Host", exact=True)).to_have_count(0)  # Twilio has no use for it
    # Airflow 3.3.2's Test button refuses a connection without a port (apache/airflow#73298);
    # the form asks for 443, as the README says.
    expect(form.locator("input[name=port]")).to_have_attribute("placeholder", "443")
    form.locator("input[name=port]").fill("443")
    form.get_by_role("button", name="Extra Fields", exact=True).click()
    for label in ("API base URL", "Calls per second", "Callback base URL", "Minimum balance",
                  "HTTP timeout (seconds)"):
        expect(form.get_by_text(label, exact=True)).to_be_visible()
    expect(form.locator("#element_base_url")).to_have_value(sandbox.url)
    expect(form.get_by_text("A campaign does not start while the account's balance is below this.")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "connection-form.png", full_page=True)
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()

    row.get_by_role("button", name="Test Connection").click()
    expect(page.get_by_text("Test Connection Successful")).to_be_visible()
    sid = sandbox.config.account_sid
    expect(page.get_by_text(f"Connected to account AC…{sid[-4:]}: 3 phone numbers, balance 12.34 USD")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "connection-test-ok.png", full_page=True)


def test_a_wrong_auth_token_fails_the_test_with_twilios_reason(page, stack, sandbox):
    row = connection_row(page, stack)
    row.get_by_role("button", name="Edit Connection").click()
    form = page.get_by_role("dialog")
    form.locator("input[name=password]").fill(WRONG_TOKEN)
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()

    row.get_by_role("button", name="Test Connection").click()
    expect(page.get_by_text("Test Connection Failed")).to_be_visible()
    expect(page.get_by_text("answered 401, error 20003")).to_be_visible()
    expect(page.get_by_text("check the Account SID and the Auth Token", exact=False)).to_be_visible()
    page.screenshot(path=ARTIFACTS / "connection-test-wrong-token.png", full_page=True)
    content = page.content()
    assert WRONG_TOKEN not in content and sandbox.config.auth_token not in content

