"""Compliance on the Campaigns page in headless Chromium (Debian's) inside the Airflow UI: leads
held back now per reason, a call's audit, the do-not-call panel. Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.api.test_browser import ARTIFACTS, browser, campaigns_frame, sign_in  # noqa: F401  (fixtures)
from tests.api.test_compliance_page import CALLER, coast_to_coast, federal_hours, record_audited_call  # noqa: F401

# The server keeps the counts of now ~30 s: a run right after the API tests may see theirs first.
HELD_TIMEOUT = 45_000


@pytest.fixture
def page(browser, stack, coast_to_coast):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = sign_in(context.new_page(), stack.url)
    yield page
    context.close()


def test_the_list_shows_what_holds_leads_back_and_the_dnc_panel(page, stack, hook):
    frame = campaigns_frame(page, stack)
    held = frame.locator("[data-campaign=example] [data-testid=held]")
    dnc_reason = held.locator("[data-reason=dnc]")
    expect(dnc_reason).to_have_text("1 do-not-call", timeout=HELD_TIMEOUT)
    expect(held.locator("[data-reason=terminal]")).to_have_text("1 done")
    assert "do-not-call list" in dnc_reason.get_attribute("title")
    legend = frame.locator("[data-testid=held-legend]")
    legend.locator("summary").click()
    expect(legend).to_contain_text("callee's local time")

    panel = frame.locator("[data-testid=dnc-panel]")
    expect(panel.locator("[data-testid=dnc-total]")).to_have_text("1 numbers suppressed")
    expect(panel.locator("[data-list=federal] [data-testid=n]")).to_have_text("1")
    panel.get_by_label("phone number").fill("+12125550199")
    panel.get_by_label("note").fill("asked by phone")
    panel.get_by_role("button", name="Add to do-not-call").click()
    expect(panel.locator("[data-testid=dnc-result]")).to_contain_text("+*******0199 added to list hand.")
    expect(panel.locator("[data-list=hand] [data-testid=n]")).to_have_text("1")
    assert hook.is_suppressed("+12125550199")
    panel.get_by_label("phone number").fill("+12125550103")
    panel.get_by_role("button", name="Check number").click()
    expect(panel.locator("[data-testid=dnc-number]")).to_contain_text("is on a do-not-call list")
    expect(panel.locator("[data-testid=dnc-number]")).to_contain_text("federal")
    assert "2125550103" not in panel.inner_text() and "2125550199" not in panel.inner_text()
    page.screenshot(path=ARTIFACTS / "campaigns-held-and-dnc.png", full_page=True)


def test_a_leads_calls_show_what_allowed_each_call(page, stack, hook, coast_to_coast):  # noqa: F811
    lead, *_ = record_audited_call(hook, coast_to_coast)
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    frame.locator(f"[data-lead='{lead.id}'] button.link").click()  # its calls
    audit = frame.locator("[data-testid=call-audit]")
    expect(audit).to_have_count(1)
    audit.locator("summary").click()
    expect(audit.locator("[data-testid=audit-local-times]")).to_have_text("2026-11-27 10:30:00 EST (America/New_York)")
    expect(audit.locator("[data-testid=audit-zone-source]")).to_contain_text("numbers: phonenumbers")
    expect(audit.locator("[data-testid=audit-recipient-hours]")).to_contain_text("08:00-21:00")
    expect(audit.locator("[data-testid=audit-state-rules]")).to_contain_text("NY")
    expect(audit.locator("[data-testid=audit-frequency]")).to_contain_text("0 calls to the number before this one")
    caller_id = audit.locator("[data-testid=audit-caller-id]")
    expect(caller_id).to_contain_text("+*******0100 · local · local: area code 415")
    assert CALLER[1:] not in audit.inner_text()
    page.screenshot(path=ARTIFACTS / "call-audit.png", full_page=True)
