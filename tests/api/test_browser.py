"""The Campaigns page in headless Chromium (Debian's) inside the Airflow UI. Screenshots go
to test-artifacts/."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.operators.conftest import sandbox  # noqa: F401  (a fixture: the Twilio sandbox the engine dials)

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
    page = sign_in(context.new_page(), stack.url)
    yield page
    context.close()


def sign_in(page, url: str):
    """Log into Airflow's UI as the test admin, as a person would."""
    page.goto(f"{url}/auth/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda u: "/auth/login" not in u, timeout=30_000)
    return page


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
    page.screenshot(path=ARTIFACTS / "campaigns-list-dark.png", full_page=True)
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


def shot(page, frame, name):
    """The page at its top, in a taller window so the cards and the first leads fit (an element
    screenshot of a long iframe comes out blank); no reload."""
    page.set_viewport_size({"width": 1400, "height": 1700})
    frame.locator("body").evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=ARTIFACTS / name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_the_detail_page_follows_real_calls_by_itself_and_keeps_what_the_person_is_doing(
        page, stack, example, hook, sandbox, campaigns_dir):  # noqa: F811
    """Issue point 7: nothing changed on an open page while calls were placed. Real dials
    through the call engine into the sandbox; the page polls and shows them without a reload,
    keeping a typed search, a chosen status, an open transcript and the scroll."""
    from outcall_provider import clock
    from outcall_provider.campaign_files import find_campaign
    from outcall_provider.engine import CallEngine
    from outcall_provider.hooks.twilio import TwilioHook
    from outcall_provider.rules.outcome import Action, CallOutcome
    from tests.api.conftest import call_sid

    cid, now = example["campaign_id"], clock.now()
    # the example's ringing call ends and is judged: no line is taken before the engine dials
    hook.update_attempt_call(example["attempts"][2], "no-answer", ended_at=now)
    hook.apply_outcome(example["attempts"][2], 1, CallOutcome(Action.RETRY, "no-answer", next_round=2,
                                                              due_at=now + timedelta(hours=1)), now)
    hook.set_call_variables(call_sid(1), {}, now, transcript="Assistant: Hello Carla!\nCarla: Tuesday works.")
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    funnel = frame.locator("[data-testid=funnel]")
    expect(funnel.locator("[data-stage=called] [data-testid=n]")).to_have_text("3")
    expect(frame.locator("[data-testid=in-flight]")).to_have_text("0 in flight")
    # every step says what it counts
    expect(funnel.locator("[data-stage='reached a person']")).to_have_attribute("title", re.compile("person answered"))
    expect(frame.locator("[data-testid=answer-rate-caption]")).to_contain_text("America/New_York")
    expect(frame.locator("[data-testid=leads-table] th").filter(has_text="Next call")).to_have_text(
        "Next call (America/New_York)")

    # what the person is doing, which a refresh must keep
    frame.locator("body").evaluate("() => { window.__not_reloaded = 'yes'; }")
    frame.locator("[data-testid=search]").fill("crm-10")  # typed, not searched yet
    frame.locator("[data-testid=call-transcript] summary").click()
    first_row = frame.locator("[data-testid=leads-table] tbody tr").first
    first_row.get_by_label("new status").select_option("completed")  # chosen, not Set
    first_lead = first_row.get_attribute("data-lead")
    frame.locator("h2", has_text="Calls").click()  # leave the select: the table may refresh again

    engine = CallEngine(hook, TwilioHook(), find_campaign("example", campaigns_dir), cid, poll_interval=0.05,
                        variables_grace=timedelta(seconds=2), price_recheck=timedelta(seconds=1))
    assert engine.dial(hook.claim_due_leads(cid, clock.now(), 3)).placed == 3
    # placed, not reconciled yet: the store says they are in flight, and so does the page
    expect(frame.locator("[data-testid=in-flight]")).to_have_text("3 in flight")
    expect(funnel.locator("[data-stage=called] [data-testid=n]")).to_have_text("5")  # lead 2 was called again
    shot(page, frame, "campaigns-light.png")  # mid-campaign: calls in flight
    frame.locator("body").evaluate("() => window.scrollTo(0, 400)")

    deadline = time.time() + 30
    while time.time() < deadline and hook.page_campaign_summary(cid, now)["calls_in_flight"] + \
            hook.page_campaign_summary(cid, now)["calls_awaiting_result"]:
        engine.reconcile()
        time.sleep(0.1)
    expect(frame.locator("[data-testid=in-flight]")).to_have_text("0 in flight")
    expect(frame.locator("[data-testid=awaiting-result]")).to_have_text("0 awaiting result")
    outcomes = frame.locator("[data-testid=outcomes]")
    expect(outcomes).not_to_contain_text("queued")  # live call states are not outcomes
    calls = len(hook.page_calls(cid, limit=200))
    assert calls >= 6  # the example's 3, these 3, and any next contact the engine dialed at once
    expect(frame.locator("[data-testid=calls-table] tbody tr[data-call]:not(.transcript)")).to_have_count(calls)

    assert frame.locator("body").evaluate("() => window.__not_reloaded") == "yes"  # no navigation
    expect(frame.locator("[data-testid=search]")).to_have_value("crm-10")
    expect(frame.locator("[data-testid=call-transcript] details pre")).to_be_visible()  # still open
    expect(frame.locator(f"[data-lead='{first_lead}']").get_by_label("new status")).to_have_value("completed")
    assert frame.locator("body").evaluate("() => window.scrollY") == 400

    page.emulate_media(color_scheme="dark")  # Airflow follows the system theme; the page follows Airflow
    expect(frame.locator("html")).to_have_class(re.compile("dark"))
    shot(page, frame, "campaigns-dark.png")
    assert frame.locator("body").evaluate("() => window.__not_reloaded") == "yes"


def test_a_broken_campaign_file_shows_its_errors_and_keeps_its_leads_read_only(page, stack, example, campaigns_dir):
    """Issue point 5: after a typo in a running campaign's file it looked `paused`, Start greyed."""
    path = campaigns_dir / "example.yaml"
    source = path.read_text()
    path.write_text(source.replace("max_attempts: 3", "max_attempts: 9"))
    try:
        frame = campaigns_frame(page, stack)
        row = frame.locator("[data-campaign=example]")
        expect(row.locator("[data-testid=status]")).to_have_text("invalid campaign file")
        expect(row.locator("[data-testid=file-errors]")).to_contain_text("example.yaml: retry.max_attempts")
        expect(row.locator("[data-testid=toggle]")).to_have_count(0)
        expect(row.locator("[data-testid=leads]")).to_have_text("200")
        row.get_by_role("link", name="example").click()
        expect(frame.locator("[data-testid=file-errors]")).to_contain_text("retry.max_attempts")
        expect(frame.locator("[data-testid=leads-table] tbody tr")).to_have_count(50)  # its leads, from the store
        expect(frame.locator("[data-testid=calls-table] tbody tr[data-call]")).to_have_count(3)
        for nothing in ("[data-testid=toggle]", "[data-testid=add-lead]", "[data-testid=csv-file]",
                        "[data-testid=leads-table] button:has-text('Set')"):
            expect(frame.locator(nothing)).to_have_count(0)  # nothing acts on a campaign without a valid file
        shot(page, frame, "campaign-invalid-file.png")
        frame.locator("body").evaluate("() => { window.__not_reloaded = 'yes'; }")
    finally:
        path.write_text(source)
    # fixed while the page is open: it says so by itself, and the actions come back
    expect(frame.locator("[data-testid=status]")).to_have_text("draft")
    expect(frame.locator("[data-testid=file-errors]")).to_have_count(0)
    expect(frame.locator("[data-testid=add-lead]")).to_be_visible()
    assert frame.locator("body").evaluate("() => window.__not_reloaded") == "yes"


def test_a_hidden_tab_does_not_poll_and_catches_up_when_shown_again(page, stack):
    """Like Airflow's own views: no requests from a tab nobody looks at."""
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    expect(frame.locator("[data-testid=funnel]")).to_be_visible()
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/campaigns/example/stats" in r.url else None)
    page.wait_for_timeout(6_000)
    assert polls, "a visible page polls every 5 s"
    set_visibility = """(body, state) => {
        Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    frame.locator("body").evaluate(set_visibility, "hidden")
    page.wait_for_timeout(500)  # a request already on its way may still be counted
    polls.clear()
    page.wait_for_timeout(11_000)
    assert polls == []  # two ticks went by without a request
    frame.locator("body").evaluate(set_visibility, "visible")
    page.wait_for_timeout(1_500)
    assert polls  # shown again: it catches up at once, not at the next tick
