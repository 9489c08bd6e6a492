"""The Campaigns page in headless Chromium (Debian's) inside the Airflow UI. Screenshots go
to test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The page polls its API; on a loaded 2-core CI machine an answer can take longer than 5 s.
expect.set_options(timeout=15_000)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, stack, example):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{stack.url}/auth/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)
    yield page
    context.close()


def campaigns_frame(page, stack):
    page.goto(f"{stack.url}/plugin/campaigns")
    frame = page.frame_locator("iframe")
    expect(frame.locator("[data-campaign=example]")).to_be_visible(timeout=30_000)
    return frame


def test_campaigns_page_inside_airflow_shows_the_example_numbers(page, stack):
    page.goto(stack.url)
    page.get_by_role("link", name="Campaigns").first.click()
    frame = page.frame_locator("iframe")
    row = frame.locator("[data-campaign=example]")
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator("[data-testid=leads]")).to_have_text("200")
    expect(row.locator("[data-testid=status]")).to_have_text("draft")
    expect(row.locator("[data-testid=conversion]")).to_have_text("0.5%")
    expect(row.locator("[data-testid=calls-today]")).to_have_text("3")
    expect(row.locator("[data-testid=cost]")).to_have_text("0.03 USD")
    page.screenshot(path=ARTIFACTS / "campaigns-list.png", full_page=True)


def test_detail_change_a_leads_status(page, stack, example):
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    expect(frame.locator("[data-testid=funnel]")).to_contain_text("goal met")
    frame.locator("[data-testid=status-filter]").select_option("completed")
    lead_row = frame.locator(f"[data-lead='{example['leads'][0].id}']")
    expect(lead_row.locator("[data-testid=lead-status]")).to_have_text("completed")
    expect(frame.locator("[data-testid=calls-table]")).to_contain_text("booked <b>Tuesday</b>")  # shown as text
    lead_row.get_by_label("new status").select_option("created")
    lead_row.get_by_role("button", name="Set").click()
    expect(frame.locator("[data-testid=no-leads]")).to_be_visible()  # it left the `completed` filter
    frame.locator("[data-testid=search]").fill(f"#{example['leads'][0].id}")
    frame.locator("[data-testid=status-filter]").select_option("created")
    lead_id = example["leads"][0].id
    expect(frame.locator(f"[data-lead='{lead_id}'] [data-testid=lead-status]")).to_have_text("created")
    page.screenshot(path=ARTIFACTS / "campaign-detail.png", full_page=True)


def test_add_a_lead_with_a_bad_number_shows_the_error(page, stack):
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    form = frame.locator("[data-testid=add-lead]")
    form.locator("[name=phone_number]").fill("555-not-a-number")
    form.get_by_role("button", name="Add lead").click()
    report = frame.locator("[data-testid=add-lead-result] [data-testid=import-report]")
    expect(report).to_contain_text("the lead was not added")
    expect(report.locator("[data-testid=rejects]")).to_contain_text("555-not-a-number")
    page.screenshot(path=ARTIFACTS / "add-lead-error.png", full_page=True)


def test_upload_a_csv_with_a_bad_row_shows_its_report(page, stack, tmp_path):
    csv = tmp_path / "more leads.csv"
    csv.write_text("phone_number,external_id,note\n+14155550401,b-1,<img src=x onerror=alert(1)>\n"
                   "+1 999,b-2,bad\n+14155550403,b-3,ok\n")
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    frame.locator("[data-testid=csv-file]").set_input_files(str(csv))
    frame.get_by_role("button", name="Upload").click()
    report = frame.locator("[data-testid=upload-result] [data-testid=import-report]")
    expect(report).to_contain_text("2 imported, 0 updated, 1 rejected")
    expect(report.locator("[data-testid=rejects] tbody tr")).to_have_count(1)
    expect(report.locator("[data-testid=rejects]")).to_contain_text("+1 999")
    frame.locator("[data-testid=search]").fill("b-1")
    frame.locator("[data-testid=search]").press("Enter")
    expect(frame.locator("[data-testid=leads-table]")).to_contain_text("note: <img src=x onerror=alert(1)>")
    assert frame.locator("[data-testid=leads-table] img").count() == 0
    page.screenshot(path=ARTIFACTS / "csv-upload-report.png", full_page=True)


def test_hostile_search_renders_as_text(page, stack):
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    hostile = "<script>window.pwned=1</script>' or 1=1 --"
    frame.locator("[data-testid=search]").fill(hostile)
    frame.locator("[data-testid=search]").press("Enter")
    expect(frame.locator("[data-testid=search-echo]")).to_have_text(f"Results for “{hostile}”")
    expect(frame.locator("[data-testid=no-leads]")).to_be_visible()
    assert frame.locator("#leads script").count() == 0


def test_dark_mode_follows_airflow(page, stack):
    page.emulate_media(color_scheme="dark")
    frame = campaigns_frame(page, stack)
    page.screenshot(path=ARTIFACTS / "campaigns-dark.png", full_page=True)
    dark_bg = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    page.emulate_media(color_scheme="light")
    frame = campaigns_frame(page, stack)
    light_bg = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    assert dark_bg != light_bg


def test_variables_that_arrive_after_judging_are_shown_apart(page, stack, example, hook):
    """Issue 8 point 7: late values are kept and shown, marked as not used for the judgment."""
    from outcall_provider import clock
    from tests.api.conftest import call_sid

    assert hook.set_call_variables(call_sid(1), {"summary": "called back later"}, clock.now()) == "late"
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    late = frame.locator("[data-testid=calls-table] [data-testid=late-variables]")
    expect(late).to_contain_text("after judging")
    expect(late).to_contain_text('summary: "called back later"')
    page.screenshot(path=ARTIFACTS / "late-variables.png", full_page=True)


def test_a_calls_transcript_folds_under_it_and_its_recording_is_a_link(page, stack, example, hook):
    """Issue part 6: the assistant's transcript in a collapsible row, shown as text; the recording linked."""
    from outcall_provider import clock
    from tests.api.conftest import call_sid

    transcript = "Assistant: Hello Ana!\nAna: <img src=x onerror=alert(1)> Tuesday works."
    hook.set_call_variables(call_sid(1), {}, clock.now(), transcript=transcript,
                            recording_url="https://recordings.example.com/RE1.mp3")
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    row = frame.locator(f"[data-testid=call-transcript][data-call='{example['attempts'][0]}']")
    expect(row).to_have_count(1)
    text = row.locator("details pre")
    expect(text).to_be_hidden()  # folded until asked for
    row.locator("summary").click()
    expect(text).to_be_visible()
    expect(text).to_have_text(transcript)  # as text: no element made of it
    assert row.locator("img").count() == 0
    link = frame.locator(f"[data-call='{example['attempts'][0]}'] [data-testid=recording]")
    expect(link).to_have_attribute("href", "https://recordings.example.com/RE1.mp3")
    expect(frame.locator("[data-testid=call-transcript]")).to_have_count(1)  # calls without one have no row
    frame.locator("[data-testid=calls-table]").screenshot(path=ARTIFACTS / "call-transcript.png")
