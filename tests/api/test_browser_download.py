"""The Campaigns page's download button in headless Chromium: the file a person saves holds one
row per lead, phone numbers in full."""
from __future__ import annotations

import csv

from playwright.sync_api import expect

from tests.api.test_browser import browser, campaigns_frame, page  # noqa: F401 (fixtures)


def test_download_results_from_the_campaign_page(page, stack, example, tmp_path):  # noqa: F811
    frame = campaigns_frame(page, stack)
    frame.get_by_role("link", name="example").click()
    link = frame.locator("[data-testid=download-leads]")
    expect(link).to_have_text("leads (CSV)")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "example_leads.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "example_leads.csv"
    with saved.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 200
    reached = next(r for r in rows if r["lead_id"] == str(example["leads"][0].id))
    assert reached["status"] == "completed" and reached["phone_number"] == example["leads"][0].phone_number
    with page.expect_download() as calls:
        frame.locator("[data-testid=download-attempts]").click()
    assert calls.value.suggested_filename == "example_attempts.csv"
