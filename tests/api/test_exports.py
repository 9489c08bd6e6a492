"""The Campaigns page's download: a campaign's results as a file through the real Airflow API
server, the same bytes as `outcall export`, behind the same permissions as the page."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

OUTCALL = shutil.which("outcall", path=str(Path(sys.executable).parent)) or "outcall"


def cli_export(campaigns_dir, *args) -> str:
    out = subprocess.run([OUTCALL, "export", "example", *args], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OUTCALL_CAMPAIGNS_DIR": str(campaigns_dir)})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_download_of_the_leads_is_the_cli_export_with_phone_numbers_in_full(api, example, campaigns_dir):
    r = api.get("/api/v1/campaigns/example/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="example_leads.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 200 and len({row["lead_id"] for row in rows}) == 200
    reached = next(row for row in rows if row["lead_id"] == str(example["leads"][0].id))
    assert reached["phone_number"] == example["leads"][0].phone_number and reached["status"] == "completed"
    assert json.loads(reached["variables"])["appointment_booked"] is True
    assert r.text == cli_export(campaigns_dir)  # the page's button and the CLI give the same file


def test_download_of_the_judged_calls_as_json_lines(api, example, campaigns_dir):
    r = api.get("/api/v1/campaigns/example/export", params={"format": "jsonl", "rows": "attempts"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    calls = [json.loads(line) for line in r.text.splitlines()]
    assert [c["call_status"] for c in calls] == ["completed", "busy"]  # the ringing call is not judged yet
    assert calls[0]["to_number"] == example["leads"][0].phone_number and calls[0]["duration_s"] == 95
    assert r.text == cli_export(campaigns_dir, "--format", "jsonl", "--rows", "attempts")
    later = api.get("/api/v1/campaigns/example/export",
                    params={"format": "jsonl", "rows": "attempts", "since": "2999-01-01T00:00:00Z"})
    assert later.status_code == 200 and later.text == ""  # nothing judged since then


def test_bad_requests_are_refused(api, example):
    assert api.get("/api/v1/campaigns/example/export", params={"format": "xlsx"}).status_code == 422
    assert api.get("/api/v1/campaigns/example/export", params={"rows": "calls"}).status_code == 422
    assert api.get("/api/v1/campaigns/nope/export").status_code == 404


def test_a_user_who_may_not_read_the_campaign_cannot_download_it(stack, viewer_token, example, other):
    with httpx.Client(base_url=f"{stack.url}/outcall", headers={"Authorization": f"Bearer {viewer_token}"},
                      timeout=60) as viewer:
        assert viewer.get("/api/v1/campaigns/other/export").status_code == 403
        assert viewer.get("/api/v1/campaigns/example/export").status_code == 200

