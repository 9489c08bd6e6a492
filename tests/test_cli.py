"""The `outcall` command line as a user runs it: a real process against a real store."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
OUTCALL = shutil.which("outcall", path=str(Path(sys.executable).parent)) or "outcall"
# outcall's clock in every command here (imports make leads due at it), so `--at` instants after
# it hold on any day the suite runs. A Friday, 10:00 in New York.
PINNED_NOW = "2026-11-27T15:00:00Z"


@pytest.fixture
def campaigns(tmp_path):
    folder = tmp_path / "campaigns"
    folder.mkdir()
    shutil.copy(ROOT / "include" / "campaigns" / "example.yaml", folder / "example.yaml")
    (folder / "example.csv").write_text(
        "phone_number,external_id,first_name\n"
        "+14155550101,crm-1,Ana\n"
        "(415) 555-0102,crm-2,Rui\n"
        "12345,crm-3,Eva\n")
    return folder


def outcall(*args, campaigns=None, env_extra=None):
    env = {**os.environ, "OUTCALL_NOW": PINNED_NOW, **(env_extra or {})}
    if campaigns:
        env["OUTCALL_CAMPAIGNS_DIR"] = str(campaigns)
    return subprocess.run([OUTCALL, *args], capture_output=True, text=True, env=env, timeout=120)


def test_validate_reports_every_error_of_a_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text((ROOT / "include" / "campaigns" / "example.yaml").read_text()
                   .replace("name: example", "name: broken")
                   .replace("max_attempts: 3", "max_attempts: 9")
                   .replace("interval_minutes: 10", "interval_minutes: 5"))
    out = outcall("validate", str(ROOT / "include" / "campaigns" / "example.yaml"), str(bad))
    assert out.returncode == 1
    assert "ok      " in out.stdout and "campaign_example" in out.stdout
    assert f"INVALID {bad}" in out.stdout
    assert "retry.max_attempts" in out.stdout and "1–5" in out.stdout
    assert "retry.interval_minutes" in out.stdout and "10–4320" in out.stdout


def test_validate_says_what_a_valid_file_means(tmp_path):
    """Issue 11 point 4: the window in the campaign's clock (a window across midnight flagged),
    retries, the goal, the lead source and when the window next opens."""
    night = tmp_path / "night.yaml"
    night.write_text((ROOT / "include" / "campaigns" / "example.yaml").read_text()
                     .replace("name: example", "name: night").replace('"00:00-23:59"', '"18:00-09:00"'))
    out = outcall("validate", str(night))
    assert out.returncode == 0, out.stderr
    assert "calling window: 18:00-09:00 America/New_York, every day; it crosses midnight" in out.stdout
    assert "usually a typo for 09:00-18:00" in out.stdout
    assert "retries: up to 3 rounds, 10 min apart; voicemail is retried" in out.stdout
    assert "goal: appointment_booked" in out.stdout and "leads: the CSV file example.csv" in out.stdout
    assert "now: open now, until" in out.stdout or "now: closed now; it next opens" in out.stdout
    assert "America/New_York (" in out.stdout.split("now: ")[1] and "UTC)" in out.stdout
    assert "+*******0100" in out.stdout and "+14155550100" not in out.stdout


def test_import_status_set_status_and_preview(pg_url, hook, campaigns):
    out = outcall("db", "migrate", campaigns=campaigns)
    assert out.returncode == 0 and "up to date" in out.stdout, out.stderr

    out = outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    assert "imported 2, updated 0, rejected 1" in out.stdout
    assert "line 4: rejected phone_number='*2345'" in out.stdout  # even a wrong number shows 4 digits

    out = outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns)
    assert "imported 0, updated 2, rejected 1" in out.stdout

    out = outcall("leads", "set-status", "example", "crm-1", "completed", campaigns=campaigns)
    assert out.returncode == 0 and "→ completed" in out.stdout

    out = outcall("status", "example", campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    assert "2 leads" in out.stdout
    assert "completed    1" in out.stdout and "created      1" in out.stdout
    assert "goal appointment_booked: 0 of 2 leads (0.0%)" in out.stdout

    out = outcall("preview", "example", "--at", "2030-01-01T12:00:00Z", campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    assert "open now, until" in out.stdout
    assert "would dial 1 leads" in out.stdout
    assert "+*******0102" in out.stdout and "+14155550102" not in out.stdout  # logs mask phones
    # issue 11 point 8: the dialable leads first; the done ones only counted, after them
    assert "1 leads are done (status completed): not dialed again" in out.stdout
    assert out.stdout.index("would dial") < out.stdout.index("are done") and "+*******0101" not in out.stdout


def test_preview_outside_the_window_says_when_it_opens(pg_url, hook, campaigns):
    spec = (campaigns / "example.yaml").read_text().replace('"00:00-23:59"', '"09:00-18:00"')
    (campaigns / "example.yaml").write_text(spec)
    outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns)
    # 03:00 in New York on a Sunday
    out = outcall("preview", "example", "--at", "2026-11-29T08:00:00Z", campaigns=campaigns)
    # issue 11 point 8: in the campaign's clock, and in UTC
    assert "closed now; it next opens Sun 2026-11-29 09:00 America/New_York (14:00 UTC)" in out.stdout, out.stdout
    assert "2 leads are due but not dialed: the window is closed" in out.stdout


def test_unknown_campaign_and_lead_are_clear_errors(pg_url, hook, campaigns):
    out = outcall("status", "nope", campaigns=campaigns)
    assert out.returncode == 1 and "no campaign file nope.yaml" in out.stderr
    outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns)
    out = outcall("leads", "set-status", "example", "crm-404", "created", campaigns=campaigns)
    assert out.returncode == 1 and "no lead 'crm-404'" in out.stderr
    out = outcall("leads", "set-status", "example", "+14155550188", "created", campaigns=campaigns)
    assert out.returncode == 1 and "no lead '+*******0188'" in out.stderr and "14155550188" not in out.stderr


def test_missing_phone_column_names_the_file(pg_url, hook, campaigns, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,name\n+14155550101,Ana\n")
    out = outcall("import-leads", "example", str(bad), campaigns=campaigns)
    assert out.returncode == 1
    assert str(bad) in out.stderr and "`phone_number` is missing" in out.stderr


def test_rejected_rows_show_only_the_last_4_digits(pg_url, hook, campaigns, tmp_path):
    leads = tmp_path / "dups.csv"
    leads.write_text("phone_number,secondary_phone_1\n"
                     "+14155550101,\n"
                     "+1 415 555 0101,\n"           # the same number again: rejected
                     "+14155550103,+1415555\n")      # a bad secondary: dropped, lead kept
    out = outcall("import-leads", "example", str(leads), campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    assert "line 3: rejected phone_number='+*******0101'" in out.stdout, out.stdout
    assert "line 4: dropped  secondary_phone_1='+***5555'" in out.stdout, out.stdout
    assert "4155550101" not in out.stdout and "415 555 0101" not in out.stdout


def test_a_database_error_is_one_masked_line_without_a_traceback(pg_url, hook, campaigns, tmp_path):
    assert outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns).returncode == 0
    campaign_id = hook.campaign_id("example")
    more = tmp_path / "more.csv"
    more.write_text("phone_number,external_id\n+14155550199,crm-9\n")
    env = {**os.environ, "OUTCALL_CAMPAIGNS_DIR": str(campaigns)}
    # Another import adds the same number at the same moment and commits first: PostgreSQL
    # refuses ours with a unique violation whose detail names the number.
    with psycopg.connect(f"{pg_url}/outcall") as other:
        other.execute("insert into outcall_leads (campaign_id, external_id, phone_number, due_at, created_at, "
                      "updated_at) values (%s, 'crm-other', '+14155550199', now(), now(), now())", (campaign_id,))
        proc = subprocess.Popen([OUTCALL, "import-leads", "example", str(more)], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with psycopg.connect(f"{pg_url}/outcall", autocommit=True) as watch:
            deadline = time.time() + 90
            while proc.poll() is None and time.time() < deadline:
                waiting = watch.execute("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                        "and query like '%%outcall_leads%%'").fetchone()[0]
                if waiting:
                    break
                time.sleep(0.1)
        assert proc.poll() is None, "the import should be waiting on the other import"
        other.commit()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in stderr
    assert "14155550199" not in stdout + stderr
    (line,) = [x for x in stderr.splitlines() if x.startswith("error:")]
    assert "+*******0199" in line and "already exists" in line, stderr


def test_created_during_a_call_is_refused_in_one_line(pg_url, hook, campaigns):
    """Issue 8 point 4: `created` while a call is in flight would call the person twice."""
    from datetime import datetime, timezone

    assert outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns).returncode == 0
    campaign_id = hook.campaign_id("example")
    lead = next(r for r in hook.claim_due_leads(campaign_id, datetime.now(timezone.utc), 10)
                if r.external_id == "crm-1")
    hook.record_attempt(campaign_id, lead, lead.to_number, "+14155550100", datetime.now(timezone.utc))
    r = outcall("leads", "set-status", "example", "crm-1", "created", campaigns=campaigns)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error: lead") and "call in flight" in r.stderr
    r = outcall("leads", "set-status", "example", "crm-1", "completed", campaigns=campaigns)
    assert r.returncode == 0 and "completed" in r.stdout


def test_export_gives_the_results_rows_with_phone_numbers_in_full(pg_url, hook, campaigns, tmp_path):
    import csv
    import json

    from outcall_provider.rules.results import LEAD_COLUMNS

    assert outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns).returncode == 0
    out = outcall("leads", "set-status", "example", "crm-2", "completed", campaigns=campaigns)
    assert out.returncode == 0, out.stderr

    out = outcall("export", "example", campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    rows = {r["external_id"]: r for r in csv.DictReader(out.stdout.splitlines())}
    assert set(rows) == {"crm-1", "crm-2"}
    assert rows["crm-1"]["phone_number"] == "+14155550101" and rows["crm-1"]["status"] == "created"
    assert rows["crm-2"]["phone_number"] == "+14155550102" and rows["crm-2"]["status"] == "completed"
    assert rows["crm-1"]["campaign"] == "example" and rows["crm-1"]["attempts"] == "0"

    target = tmp_path / "leads.jsonl"
    out = outcall("export", "example", "--format", "jsonl", "--since", "2000-01-01", "--output", str(target),
                  campaigns=campaigns)
    assert out.returncode == 0 and "2 leads written to" in out.stdout, out.stderr
    assert "+1415555" not in out.stdout  # the numbers go to the file, not to the terminal's log
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(r["phone_number"] for r in lines) == ["+14155550101", "+14155550102"]
    out = outcall("export", "example", "--since", "2999-01-01", campaigns=campaigns)
    assert out.stdout.splitlines() == [",".join(c.name for c in LEAD_COLUMNS)]  # a header, no rows
    out = outcall("export", "example", "--rows", "attempts", campaigns=campaigns)
    assert out.returncode == 0 and out.stdout.startswith("campaign,attempt_id,call_sid,")


@pytest.mark.parametrize("args, expected", [
    (("--format", "xlsx"), "error: --format 'xlsx' is not allowed; allowed csv, jsonl"),
    (("--rows", "calls"), "error: --rows 'calls' is not allowed; allowed leads, attempts"),
    (("--since", "yesterday"), "error: --since 'yesterday' is not an ISO time; "
                               "allowed e.g. 2026-11-28T09:00 or 2026-11-28T09:00-05:00"),  # the example unmasked
])
def test_export_errors_are_one_line(pg_url, hook, campaigns, args, expected):
    out = outcall("export", "example", *args, campaigns=campaigns)
    assert out.returncode == 1 and out.stdout == "" and "Traceback" not in out.stderr
    (error,) = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(expected)


def test_export_of_a_campaign_not_in_the_store_is_one_line(pg_url, hook, campaigns):
    out = outcall("export", "example", campaigns=campaigns)
    assert out.returncode == 1 and out.stdout == "" and "Traceback" not in out.stderr
    (error,) = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert "campaign 'example' is not in the store yet" in error


def _the_one_error_line(out) -> str:
    """How every CLI error looks: a non-zero exit, no traceback, one line on stderr starting `error:`."""
    assert out.returncode != 0, f"exit 0 for an error; stdout: {out.stdout}"
    assert "Traceback" not in out.stderr, f"a traceback instead of one line:\n{out.stderr}"
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one line starting 'error:' on stderr, got:\n{out.stderr}"
    return errors[0]


def _new_terminal_env(campaigns, tmp_path) -> dict[str, str]:
    """A new terminal that did not `source .run/env`: no Airflow settings, no connections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow-home"), OUTCALL_CAMPAIGNS_DIR=str(campaigns))
    return env


@pytest.mark.parametrize("args, conn_id", [
    (("status", "example"), "outcall_db"),
    (("--conn-id", "warehouse", "status", "example"), "warehouse"),
])
def test_an_undefined_connection_is_one_line_saying_how_to_define_it(campaigns, tmp_path, args, conn_id):
    out = subprocess.run([OUTCALL, *args], capture_output=True, text=True, timeout=120,
                         env=_new_terminal_env(campaigns, tmp_path))
    assert _the_one_error_line(out) == (
        f"error: the connection '{conn_id}' is not defined; run `source .run/env` (make run) "
        f"or define AIRFLOW_CONN_{conn_id.upper()}")


def test_preview_at_a_time_that_is_not_iso_is_one_line(campaigns):
    out = outcall("preview", "example", "--at", "tomorrow", campaigns=campaigns)
    assert _the_one_error_line(out) == (
        "error: --at 'tomorrow' is not an ISO time; allowed e.g. 2026-11-28T09:00 or 2026-11-28T09:00-05:00")


@pytest.mark.parametrize("args, wrong, allowed", [
    (("leads", "set-status", "example", "crm-1", "done"), "argument status: invalid choice: 'done'",
     ("created", "completed")),
    (("dial", "example"), "argument command: invalid choice: 'dial'", ("status", "preview", "import-leads")),
    (("status",), "the following arguments are required: campaign", ()),
])
def test_a_usage_error_is_one_line_naming_what_is_allowed(campaigns, args, wrong, allowed):
    out = outcall(*args, campaigns=campaigns)
    error = _the_one_error_line(out)
    assert error.startswith(f"error: {wrong}") and all(a in error for a in allowed), error
    assert out.stderr.strip() == error, f"usage text around the error line:\n{out.stderr}"


def test_preview_json_says_for_each_lead_why_it_would_not_be_dialed(pg_url, hook, campaigns):
    """Issue 12 point 9: one JSON object per lead and line, with reason codes and a why each."""
    spec = (campaigns / "example.yaml").read_text()
    spec = spec[:spec.index("\ncompliance:")] + "\ncompliance: {require_consent: true}\n"
    (campaigns / "example.yaml").write_text(spec)
    (campaigns / "example.csv").write_text(
        "phone_number,external_id,consent_at\n"
        "+12125550101,ny,2026-01-05T10:00:00Z\n"      # New York: 10:59 at --at
        "+14155550102,ca,2026-01-05T10:00:00Z\n"      # California: 07:59
        "+12125550103,no_consent,\n"
        "+12125550104,dnc,2026-01-05\n"
        "+12125550105,done,2026-01-05\n")
    assert outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns).returncode == 0
    assert outcall("dnc", "add", "+12125550104", campaigns=campaigns).returncode == 0
    assert outcall("leads", "set-status", "example", "done", "completed", campaigns=campaigns).returncode == 0
    out = outcall("preview", "example", "--at", "2026-11-30T15:59:00Z", "--json", campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    by_id = {line["external_id"]: line for line in lines}
    assert set(by_id) == {"ny", "ca", "no_consent", "dnc", "done"}
    assert by_id["ny"]["dialable"] is True and by_id["ny"]["reasons"] == []
    assert by_id["ca"]["reasons"] == [{"code": "recipient_hours",
                                       "why": "callee local time 07:59 America/Los_Angeles is before 08:00"}]
    assert [r["code"] for r in by_id["no_consent"]["reasons"]] == ["no_consent"]
    assert by_id["dnc"]["reasons"] == [{"code": "dnc", "why": "its number is on the do-not-call list hand"}]
    assert by_id["done"]["reasons"] == [{"code": "terminal", "why": "the lead is completed"}]
    assert all(isinstance(line["lead_id"], int) for line in lines)

    text = outcall("preview", "example", "--at", "2026-11-30T15:59:00Z", campaigns=campaigns).stdout
    assert ("dialable at that moment: 1 leads; held back (a lead counts under each of its reasons): "
            "recipient_hours 1, dnc 1, no_consent 1, terminal 1") in text, text


def test_compliance_rules_prints_what_applies_with_its_source(campaigns):
    out = outcall("compliance", "rules", "--state", "fl", campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    assert "Florida (FL)\n  mon-sun: 08:00-20:00\n  cap: at most 3 calls to a number per 24 h" in out.stdout
    assert "source: Fla. Stat. 501.616(6)" in out.stdout and "(checked 2026-11-27)" in out.stdout
    out = outcall("compliance", "rules", "--state", "NY", campaigns=campaigns)
    assert "New York (NY) has no state rule here: it follows the federal 08:00-21:00" in out.stdout
    out = outcall("compliance", "rules", campaigns=campaigns)
    assert "Texas (TX)" in out.stdout and "Every other state follows the federal" in out.stdout


def test_a_lead_whose_numbers_share_no_calling_hour_is_named_at_import_and_in_preview(pg_url, hook, campaigns):
    """A New York, a UK and a Guam number: 08:00-21:00 never holds in all three at once. The
    import names the line; preview --json holds it with its own reason (it broke the dialers)."""
    spec = (campaigns / "example.yaml").read_text()
    spec = spec[:spec.index("\ncompliance:")] + "\ncompliance: {require_consent: false}\n"  # federal hours
    (campaigns / "example.yaml").write_text(spec)
    (campaigns / "example.csv").write_text(
        "phone_number,secondary_phone_1,secondary_phone_2,external_id\n"
        "+12125550101,,,ny\n"
        "+12125550123,+442071838750,+16715550123,nowhere_at_once\n")
    out = outcall("import-leads", "example", str(campaigns / "example.csv"), campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    assert "line 3:" in out.stdout and "its numbers share no calling hour" in out.stdout, out.stdout
    assert "+12125550123" not in out.stdout
    out = outcall("preview", "example", "--at", "2026-11-30T16:00:00Z", "--json", campaigns=campaigns)
    assert out.returncode == 0, out.stderr
    by_id = {line["external_id"]: line for line in map(json.loads, out.stdout.splitlines())}
    assert by_id["ny"]["dialable"] is True
    assert by_id["nowhere_at_once"]["dialable"] is False
    assert by_id["nowhere_at_once"]["reasons"] == [{
        "code": "no_common_hour",
        "why": "its numbers share no calling hour: 08:00-21:00 never holds in all of America/New_York, "
               "Europe/London, Pacific/Guam at once; it is held and never called"}]
    text = outcall("preview", "example", "--at", "2026-11-30T16:00:00Z", campaigns=campaigns).stdout
    assert "held back (a lead counts under each of its reasons): no_common_hour 1" in text, text
