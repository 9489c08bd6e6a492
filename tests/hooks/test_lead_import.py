"""Lead CSV import against a real PostgreSQL: every awkward file a data team sends us."""
from __future__ import annotations

import csv
import json
import random
import re
import string
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from outcall_provider.hooks import lead_import
from outcall_provider.rules.leads import LeadFileError
from tests.stores import side_by_side

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def campaign_id(hook):
    with hook.db.cursor() as cur:
        cur.execute("insert into outcall_campaigns (name, spec, created_at, updated_at) "
                    "values ('spring', '{}', %s, %s) returning id", (NOW, NOW))
        cid = cur.fetchone()[0]
    hook.db.commit()
    return cid


def write(tmp_path, content, name="leads.csv", mode="w"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, newline="")
    return path


def leads(hook, campaign_id):
    with hook.db.cursor() as cur:
        cur.execute("select l.phone_number, l.external_id, l.variables, l.source_line, "
                    "array[l.phone_number] || array(select c.phone_number from outcall_contacts c "
                    "where c.lead_id = l.id order by c.position) from outcall_leads l "
                    "where campaign_id = %s order by l.id",
                    (campaign_id,))
        rows = cur.fetchall()
    hook.db.commit()
    return rows


def rejects(hook, report):
    return [(r["line"], r["field"], r["reason"], r["skipped_row"])
            for r in hook.import_rejects(report.report_id, 1000)]


def test_imports_leads_with_secondaries_and_variables(hook, campaign_id, tmp_path):
    path = write(tmp_path, "phone_number,secondary_phone_1,secondary_phone_2,external_id,first_name\n"
                           "+14155550101,+14155550102,,crm-1,Ana\n"
                           "+14155550103,,,crm-2,Bruno\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.updated, report.rejected) == (2, 0, 0)
    assert leads(hook, campaign_id) == [
        ("+14155550101", "crm-1", {"first_name": "Ana"}, 2, ["+14155550101", "+14155550102"]),
        ("+14155550103", "crm-2", {"first_name": "Bruno"}, 3, ["+14155550103"]),
    ]


def test_missing_phone_column_is_a_file_error_kept_in_the_store(hook, campaign_id, tmp_path):
    path = write(tmp_path, "phone,first_name\n+14155550101,Ana\n")
    missing = r"required column `phone_number` is missing \(columns found: phone, first_name\)"
    with pytest.raises(LeadFileError, match=missing):
        hook.import_leads_csv(campaign_id, path, None, NOW)
    with hook.db.cursor() as cur:
        cur.execute("select error from outcall_import_reports")
        assert "phone_number" in cur.fetchone()[0]
    hook.db.commit()
    assert leads(hook, campaign_id) == []


def test_empty_file_is_a_file_error(hook, campaign_id, tmp_path):
    with pytest.raises(LeadFileError, match="the file is empty"):
        hook.import_leads_csv(campaign_id, write(tmp_path, ""), None, NOW)


def test_header_only_file_imports_nothing(hook, campaign_id, tmp_path):
    report = hook.import_leads_csv(campaign_id, write(tmp_path, "phone_number,first_name\n"), None, NOW)
    assert (report.imported, report.updated, report.rejected) == (0, 0, 0)


def test_non_utf8_row_is_rejected_and_its_neighbours_kept(hook, campaign_id, tmp_path):
    path = write(tmp_path, b"phone_number,first_name\n+14155550101,Ana\n+14155550102,Jos\xe9\n+14155550103,Rui\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 1)
    assert rejects(hook, report) == [(3, None, "contains bytes that are not UTF-8 (save the file as UTF-8)", True)]
    assert [r[0] for r in leads(hook, campaign_id)] == ["+14155550101", "+14155550103"]


def test_bom_and_windows_line_endings(hook, campaign_id, tmp_path):
    path = write(tmp_path, "\ufeffphone_number,first_name\r\n+14155550101,Ana\r\n+14155550102,Rui\r\n".encode())
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert report.imported == 2
    assert [r[2] for r in leads(hook, campaign_id)] == [{"first_name": "Ana"}, {"first_name": "Rui"}]


def test_quoted_newlines_keep_line_numbers_right(hook, campaign_id, tmp_path):
    path = write(tmp_path, 'phone_number,notes\n+14155550101,"two\nlines"\nnot-a-phone,x\n'
                           '+14155550102,"tab\there, back\\\\slash"\n')
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 1)
    assert rejects(hook, report)[0][:2] == (4, "phone_number")  # record 3 starts on physical line 4
    rows = leads(hook, campaign_id)
    assert rows[0][2] == {"notes": "two\nlines"} and rows[0][3] == 2
    assert rows[1][2] == {"notes": "tab\there, back\\\\slash"} and rows[1][3] == 5


def test_duplicate_phones_in_one_file_keep_the_first(hook, campaign_id, tmp_path):
    path = write(tmp_path, "phone_number,first_name\n+14155550101,Ana\n+1 415 555 0101,Ana again\n+14155550102,Rui\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 1)
    assert rejects(hook, report) == [(3, "phone_number", "duplicate of line 2 (same phone_number)", True)]


def test_duplicates_across_merge_blocks_are_found(hook, campaign_id, tmp_path, monkeypatch):
    monkeypatch.setattr(lead_import, "BLOCK_ROWS", 2)
    monkeypatch.setattr(lead_import, "CHUNK_ROWS", 1)
    path = write(tmp_path, "phone_number,external_id\n+14155550101,a\n+14155550102,b\n+14155550103,a\n+14155550102,c\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 2)
    assert rejects(hook, report) == [
        (4, "external_id", "duplicate of line 2 (same external_id)", True),
        (5, "phone_number", "phone_number repeats line 3", True),
    ]


def test_invalid_and_national_numbers(hook, campaign_id, tmp_path):
    content = "phone_number\n(415) 555-0101\n+14155550102\n12345\n\n+99912345678\n"
    report = hook.import_leads_csv(campaign_id, write(tmp_path, content), None, NOW)
    assert (report.imported, report.rejected) == (1, 3)
    lines = [(r[0], r[1]) for r in rejects(hook, report)]
    assert lines == [(2, "phone_number"), (4, "phone_number"), (6, "phone_number")]
    assert "default_region" in rejects(hook, report)[0][2]

    again = hook.import_leads_csv(campaign_id, write(tmp_path, content, "b.csv"), "US", NOW)
    assert (again.imported, again.updated, again.rejected) == (1, 1, 2)
    assert sorted(r[0] for r in leads(hook, campaign_id)) == ["+14155550101", "+14155550102"]


def test_bad_secondary_keeps_the_lead(hook, campaign_id, tmp_path):
    path = write(tmp_path, "phone_number,secondary_phone_1,secondary_phone_2\n+14155550101,nope,+14155550102\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected, report.warnings) == (1, 0, 1)
    assert rejects(hook, report)[0][:2] == (2, "secondary_phone_1")
    assert leads(hook, campaign_id)[0][4] == ["+14155550101", "+14155550102"]


def test_a_lead_whose_numbers_share_no_calling_hour_is_a_warning_and_kept(hook, campaign_id, tmp_path):
    """Bug: a New York number with a UK and a Guam one (08:00-21:00 never holds in all three at
    once) imported without a word; the lead was then never called and broke the idle dialers.
    It is kept (a person may fix its numbers) with a warning naming its line."""
    path = write(tmp_path, "phone_number,secondary_phone_1,secondary_phone_2,external_id\n"
                           "+14155550101,,,fine\n"
                           "+12125550123,+442071838750,+16715550123,nowhere_at_once\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected, report.warnings) == (2, 0, 1)
    [(line, field, reason, skipped)] = rejects(hook, report)
    assert (line, field, skipped) == (3, "phone_number", False)
    assert reason == ("its numbers share no calling hour (08:00-21:00 never holds in all of America/New_York, "
                      "Europe/London, Pacific/Guam at once); the lead is kept but held and never called "
                      "(hold reason no_common_hour) until its numbers or its timezone, state or "
                      "postal_code change")
    assert [r[1] for r in leads(hook, campaign_id)] == ["fine", "nowhere_at_once"]


def test_no_common_hour_is_judged_by_the_campaigns_own_hours(hook, campaign_id, tmp_path):
    """A campaign without recipient hours (compliance.recipient_hours: null) calls such a lead, and
    one with narrower hours may find no common hour where the federal ones do: the import reads
    the campaign's stored compliance."""
    def with_hours(hours):
        with hook.db.cursor() as cur:
            cur.execute("update outcall_campaigns set spec = %s::jsonb where id = %s",
                        (json.dumps({"compliance": {"recipient_hours": hours, "reason": "a test"}}), campaign_id))
        hook.db.commit()

    with_hours(None)
    path = write(tmp_path, "phone_number,secondary_phone_1,secondary_phone_2\n"
                           "+12125550123,+442071838750,+16715550123\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.warnings) == (1, 0)
    # New York and Los Angeles, 3 hours apart, share 11:00-21:00 New York of the federal hours, none of 09:00-11:00
    with_hours("09:00-11:00")
    path = write(tmp_path, "phone_number,secondary_phone_1\n+12125550124,+12135550124\n", "b.csv")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.warnings) == (1, 1)
    assert "09:00-11:00 never holds in all of America/Los_Angeles, America/New_York" in rejects(hook, report)[0][2]


def test_more_than_ten_secondary_columns_is_a_file_error(hook, campaign_id, tmp_path):
    header = "phone_number," + ",".join(f"secondary_phone_{i}" for i in range(1, 12))
    with pytest.raises(LeadFileError, match="secondary_phone_11.*at most 10 secondary contacts"):
        hook.import_leads_csv(campaign_id, write(tmp_path, header + "\n"), None, NOW)


def test_wrong_field_count_is_rejected(hook, campaign_id, tmp_path):
    path = write(tmp_path, "phone_number,first_name\n+14155550101,Ana,extra\n+14155550102,Rui\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (1, 1)
    assert rejects(hook, report)[0][2] == "has 3 fields, the header has 2"


def test_reimport_updates_instead_of_duplicating(hook, campaign_id, tmp_path):
    first = write(tmp_path, "phone_number,external_id,plan\n+14155550101,crm-1,basic\n+14155550102,crm-2,basic\n")
    hook.import_leads_csv(campaign_id, first, None, NOW)
    second = write(tmp_path, "phone_number,external_id,plan\n+14155550109,crm-1,pro\n+14155550102,crm-2,pro\n"
                             "+14155550103,crm-3,basic\n", "second.csv")
    report = hook.import_leads_csv(campaign_id, second, None, NOW)
    assert (report.imported, report.updated, report.rejected) == (1, 2, 0)
    assert [(r[0], r[1], r[2]) for r in leads(hook, campaign_id)] == [
        ("+14155550109", "crm-1", {"plan": "pro"}),
        ("+14155550102", "crm-2", {"plan": "pro"}),
        ("+14155550103", "crm-3", {"plan": "basic"}),
    ]


def test_phone_owned_by_another_lead_is_rejected(hook, campaign_id, tmp_path):
    hook.import_leads_csv(campaign_id, write(tmp_path, "phone_number,external_id\n+14155550101,crm-1\n"), None, NOW)
    report = hook.import_leads_csv(
        campaign_id, write(tmp_path, "phone_number,external_id\n+14155550101,crm-9\n", "b.csv"), None, NOW)
    assert report.rejected == 1
    assert rejects(hook, report)[0][2] == \
        "phone_number already belongs to another lead of this campaign (external_id crm-1)"


def test_parallel_import_matches_in_process_import(hook, campaign_id, tmp_path, monkeypatch):
    monkeypatch.setattr(lead_import, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(lead_import, "CHUNK_ROWS", 7)
    monkeypatch.setattr(lead_import, "BLOCK_ROWS", 20)
    body = "".join(f"+1415555{i:04d},n{i}\n" if i % 10 else f"bad{i},n{i}\n" for i in range(100, 160))
    path = write(tmp_path, "phone_number,name\n" + body)
    report = hook.import_leads_csv(campaign_id, path, None, NOW, workers=2)
    assert (report.imported, report.rejected) == (54, 6)
    assert [r[0] for r in rejects(hook, report)] == [2, 12, 22, 32, 42, 52]


# -- one bad row never stops an import ---------------------------------------------------------
def full_numbers_in_rejects(hook):
    """Every stored reject value, reason and report error that still carries 7+ digits in a row."""
    with hook.db.cursor() as cur:
        cur.execute("select coalesce(value, '') || ' ' || reason from outcall_import_rejects "
                    "union all select error from outcall_import_reports where error is not null")
        texts = [r[0] for r in cur.fetchall()]
    hook.db.commit()
    return [t for t in texts if re.search(r"\d(?:[\s().-]?\d){6}", t)]


def test_nul_bytes_reject_only_their_rows(hook, campaign_id, tmp_path):
    path = write(tmp_path, "phone_number,external_id,notes\n+14155550101,a,ok\n+14155550102,b,bad\x00note\n"
                           "+14155550103,c\x00,x\n+14155550104,d,fine\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 2)
    assert rejects(hook, report) == [(3, None, "contains a NUL byte", True), (4, None, "contains a NUL byte", True)]
    assert [r[1] for r in leads(hook, campaign_id)] == ["a", "d"]
    assert full_numbers_in_rejects(hook) == []


def test_a_field_over_the_reader_limit_rejects_only_its_row(hook, campaign_id, tmp_path):
    huge = "x" * (csv.field_size_limit() + 10)
    path = write(tmp_path, f"phone_number,notes\n+14155550101,ok\n+14155550102,{huge}\n+14155550103,fine\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 1)
    [(line, field, reason, skipped)] = rejects(hook, report)
    assert (line, field, skipped) == (3, None, True)
    assert f"longer than {csv.field_size_limit()} characters" in reason
    assert [r[0] for r in leads(hook, campaign_id)] == ["+14155550101", "+14155550103"]
    assert full_numbers_in_rejects(hook) == []


def test_a_quote_that_never_closes_rejects_its_line_and_the_next_lines_are_read(hook, campaign_id, tmp_path):
    path = write(tmp_path, 'phone_number,notes\n+14155550101,"two\nlines"\n+14155550102,"oops\n'
                           '+14155550103,Rui\n+14155550104,Eva\n')
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (3, 1)
    [(line, field, reason, _)] = rejects(hook, report)
    assert (line, field) == (4, None) and "quote" in reason and "never closes" in reason
    rows = leads(hook, campaign_id)
    assert [(r[0], r[3]) for r in rows] == [("+14155550101", 2), ("+14155550103", 5), ("+14155550104", 6)]
    assert rows[0][2] == {"notes": "two\nlines"}
    assert full_numbers_in_rejects(hook) == []


def test_a_quote_never_closed_in_a_big_file_keeps_the_rows_after_it(hook, campaign_id, tmp_path):
    body = "".join(f"+1415555{i:04d},note {i}\n" for i in range(1000, 9000))
    path = write(tmp_path, 'phone_number,notes\n+14155550001,"oops\n' + body)
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (8000, 1)
    assert rejects(hook, report)[0][0] == 2 and "quote" in rejects(hook, report)[0][2]
    assert leads(hook, campaign_id)[-1][3] == 8002


def test_a_stray_quote_closed_by_a_later_row_does_not_swallow_the_rows_between(hook, campaign_id, tmp_path):
    path = write(tmp_path, 'phone_number,notes\n+14155550101,"Ana\n+14155550102,Rui\n+14155550103,"Bob"\n')
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 1)
    assert rejects(hook, report)[0][0] == 2 and "not closed properly before line 4" in rejects(hook, report)[0][2]
    assert [(r[0], r[2]) for r in leads(hook, campaign_id)] == [("+14155550102", {"notes": "Rui"}),
                                                                 ("+14155550103", {"notes": "Bob"})]


def test_non_finite_numbers_stay_text(hook, campaign_id, tmp_path):
    # Variables are text handed to the assistant: "NaN" may be a name, "Infinity" a plan.
    path = write(tmp_path, "phone_number,score,plan,nick\n+14155550101,NaN,Infinity,-inf\n")
    assert hook.import_leads_csv(campaign_id, path, None, NOW).imported == 1
    records = [(2, ["+14155550102", float("nan"), float("inf"), Decimal("-Infinity")])]
    report = hook.import_lead_records(campaign_id, "sql", ["phone_number", "score", "plan", "nick"], records,
                                      None, NOW, workers=1)
    assert report.imported == 1
    assert [r[2] for r in leads(hook, campaign_id)] == [
        {"score": "NaN", "plan": "Infinity", "nick": "-inf"}, {"score": "nan", "plan": "inf", "nick": "-Infinity"}]
    with hook.db.cursor() as cur:  # JSON strings, as the assistant receives them
        cur.execute("select array_agg(distinct jsonb_typeof(v)) from outcall_leads, jsonb_each(variables) e(k, v)")
        assert cur.fetchone()[0] == ["string"]
    hook.db.commit()


def test_an_external_id_too_long_to_index_rejects_only_its_row(hook, campaign_id, tmp_path):
    long_id = "".join(random.Random(1).choice(string.ascii_letters) for _ in range(6000))
    path = write(tmp_path, f"phone_number,external_id\n+14155550101,a\n+14155550102,{long_id}\n+14155550103,c\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 1)
    assert rejects(hook, report)[0][:2] == (3, "external_id") and "longer than" in rejects(hook, report)[0][2]


@pytest.mark.parametrize("content, why", [
    ("phone_number,notes\n".encode("utf-16"), "UTF-8"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb6\xff\xfe,\x00\n+14155550101,a\n", "UTF-8"),
    (("phone_number," + "n" * (csv.field_size_limit() + 1) + "\n+14155550101,a\n").encode(), "longer than"),
    (b'phone_number,"notes\n+14155550101,a\n', "never closes"),
], ids=["utf-16", "xlsx", "header-over-field-limit", "header-quote-never-closes"])
def test_an_unreadable_header_is_a_file_error_kept_in_the_store(hook, campaign_id, tmp_path, content, why):
    with pytest.raises(LeadFileError, match=f"line 1.*{why}"):
        hook.import_leads_csv(campaign_id, write(tmp_path, content), None, NOW)
    with hook.db.cursor() as cur:
        cur.execute("select error, finished_at from outcall_import_reports")
        error, finished_at = cur.fetchone()
    hook.db.commit()
    assert why in error and finished_at == NOW
    assert leads(hook, campaign_id) == []


def test_a_file_without_a_header_shows_no_full_number(hook, campaign_id, tmp_path):
    path = write(tmp_path, "+14155550101,Ana\n+14155550102,Rui\n")
    with pytest.raises(LeadFileError) as e:
        hook.import_leads_csv(campaign_id, path, None, NOW)
    assert "+*******0101" in str(e.value) and "4155550101" not in str(e.value)
    assert full_numbers_in_rejects(hook) == []


def test_rejects_never_store_a_full_number(hook, campaign_id, tmp_path):
    hook.import_leads_csv(campaign_id, write(tmp_path, "phone_number,external_id\n+14155550109,crm-9\n"), None, NOW)
    path = write(tmp_path, "phone_number,secondary_phone_1,external_id,notes\n"
                           "+99912345678,,a,x\n"              # bad primary
                           "+14155550101,+99912345679,b,x\n"  # bad secondary, lead kept
                           "+14155550101,,c,x\n"              # repeats line 3
                           "+14155550109,,d,x\n"              # belongs to crm-9
                           "+14155550102,,e,call +1 415 555 0177\x00\n", "b.csv")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected, report.warnings) == (1, 4, 1)
    assert [(r[0], r[1]) for r in rejects(hook, report)] == [
        (2, "phone_number"), (3, "secondary_phone_1"), (4, "phone_number"), (5, "phone_number"), (6, None)]
    shown = hook.import_rejects(report.report_id)
    assert shown[0]["value"] == "+*******5678" and shown[3]["value"] == "+*******0109"
    assert full_numbers_in_rejects(hook) == []


# -- imports into one campaign at once ---------------------------------------------------------
def test_two_imports_into_one_campaign_at_once_both_finish_with_nothing_lost(hook, campaign_id, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(lead_import, "BLOCK_ROWS", 100)
    monkeypatch.setattr(lead_import, "CHUNK_ROWS", 50)
    # Both files carry the same CRM lead first (the tick's sync and an upload of an overlapping
    # export), then leads of their own.
    files = [write(tmp_path, "phone_number,external_id\n+14155550001,shared\n" + "".join(
        f"+1415{k}{i:04d},f{k}-{i}\n" for i in range(1500)), f"{k}.csv") for k in (666, 777)]
    reports = {}

    def run(store, path):
        reports[path.name] = store.import_leads_csv(campaign_id, path, None, NOW, workers=1)

    side_by_side(run, files)
    a, b = reports["666.csv"], reports["777.csv"]
    assert sorted([(a.imported, a.updated), (b.imported, b.updated)]) == [(1500, 1), (1501, 0)]
    assert a.rejected == b.rejected == 0
    assert len(leads(hook, campaign_id)) == 3001
    with hook.db.cursor() as cur:
        cur.execute("select count(*) from outcall_import_reports where finished_at is not null and error is null")
        assert cur.fetchone()[0] == 2
    hook.db.commit()


# -- adding a lead by hand never overwrites ------------------------------------------------------
def test_adding_a_lead_by_hand_never_overwrites_an_existing_one(hook, campaign_id, tmp_path):
    hook.import_leads_csv(campaign_id, write(tmp_path, "phone_number,external_id,plan\n+14155550101,crm-1,basic\n"),
                          None, NOW)
    before = leads(hook, campaign_id)
    header = ["phone_number", "external_id", "plan"]
    same_phone = hook.add_lead(campaign_id, "added by ana", header, ["(415) 555-0101", "", "pro"], "US", NOW)
    assert same_phone.imported == same_phone.updated == 0
    [clash] = same_phone.conflicts
    assert clash["field"] == "phone_number" and clash["value"] == "+*******0101" and clash["lead_id"] == 1
    same_id = hook.add_lead(campaign_id, "added by ana", header, ["+14155550102", "crm-1", "pro"], None, NOW)
    assert [c["field"] for c in same_id.conflicts] == ["external_id"]
    assert leads(hook, campaign_id) == before
    fresh = hook.add_lead(campaign_id, "added by ana", header, ["+14155550102", "crm-2", "pro"], None, NOW)
    assert (fresh.imported, fresh.conflicts) == (1, [])
    assert full_numbers_in_rejects(hook) == []


# -- re-import and invalid marks -----------------------------------------------------------------
def marks(hook, campaign_id):
    with hook.db.cursor() as cur:
        cur.execute("select l.external_id, 0, l.phone_invalid_reason from outcall_leads l where campaign_id = %s "
                    "union all select l.external_id, c.position, c.invalid_reason from outcall_contacts c "
                    "join outcall_leads l on l.id = c.lead_id where campaign_id = %s order by 1, 2",
                    (campaign_id, campaign_id))
        rows = cur.fetchall()
    hook.db.commit()
    return {(ext, pos): reason for ext, pos, reason in rows}


def test_a_reimport_clears_marks_of_changed_numbers_and_of_account_codes(hook, campaign_id, tmp_path):
    header = "phone_number,secondary_phone_1,external_id\n"
    hook.import_leads_csv(campaign_id, write(tmp_path, header + "+14155550101,+14155550111,kept\n"
                                             "+14155550102,+14155550112,account\n"
                                             "+14155550103,+14155550113,changed\n"), None, NOW)
    ids = {r[1]: n for n, r in enumerate(leads(hook, campaign_id), start=1)}
    for ext, code in (("kept", 21211), ("account", 21210), ("changed", 21211)):
        for position in (0, 1):
            hook.mark_contact_invalid(ids[ext], position, f"invalid number (Twilio {code})")
    hook.import_leads_csv(campaign_id, write(tmp_path, header + "+14155550101,+14155550111,kept\n"
                                             "+14155550102,+14155550112,account\n"
                                             "+14155550193,+14155550194,changed\n", "b.csv"), None, NOW)
    assert marks(hook, campaign_id) == {
        ("account", 0): None, ("account", 1): None,
        ("changed", 0): None, ("changed", 1): None,
        ("kept", 0): "invalid number (Twilio 21211)", ("kept", 1): "invalid number (Twilio 21211)",
    }


def test_every_duplicate_names_the_field_that_clashes_and_its_own_value(hook, campaign_id, tmp_path):
    """Issue 11 point 8 reported `phone_number='mess-4'` (an external id under the phone's name):
    each kind of duplicate reports the clashing field with that field's value."""
    path = write(tmp_path, "external_id,phone_number\nmess-1,+14155550101\nmess-2,+14155550102\n"
                           "mess-3,+14155550101\nmess-4,+1 415 555 0102\nmess-1,+14155550109\n,+14155550102\n"
                           ",+14155550110\n,+14155550110\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    got = [(r["line"], r["field"], r["value"], r["reason"]) for r in hook.import_rejects(report.report_id, 100)]
    assert got == [
        (4, "phone_number", "+*******0101", "phone_number repeats line 2"),
        (5, "phone_number", "+*******0102", "phone_number repeats line 3"),
        (6, "external_id", "mess-1", "duplicate of line 2 (same external_id)"),
        (7, "phone_number", "+*******0102", "phone_number repeats line 3"),
        (9, "phone_number", "+*******0110", "duplicate of line 8 (same phone_number)"),
    ]


# -- lead data cannot steer outcall ---------------------------------------------------------------
def test_a_column_named_like_an_outcall_call_parameter_is_refused_and_the_rest_imported(hook, campaign_id,
                                                                                         tmp_path):
    path = write(tmp_path, "phone_number,lead_id,first_name,campaign\n"
                           "+14155550101,999,Ana,other\n+14155550102,998,Rui,other\n")
    report = hook.import_leads_csv(campaign_id, path, None, NOW)
    assert (report.imported, report.rejected, report.warnings) == (2, 0, 2)
    assert [r[2] for r in leads(hook, campaign_id)] == [{"first_name": "Ana"}, {"first_name": "Rui"}]
    [(line, field, reason, skipped), second] = rejects(hook, report)
    assert (line, field, skipped) == (1, "lead_id", False) and second[:2] == (1, "campaign")
    assert "column `lead_id` is not imported" in reason and "`campaign`" in reason


def test_a_sql_source_column_named_like_an_outcall_call_parameter_is_refused(hook, campaign_id):
    report = hook.import_lead_records(campaign_id, "sql on warehouse", ["phone_number", "campaign", "plan"],
                                      [(2, ["+14155550101", "other", "pro"])], None, NOW)
    assert (report.imported, report.warnings) == (1, 1)
    assert [r[2] for r in leads(hook, campaign_id)] == [{"plan": "pro"}]
    assert [r[:2] for r in rejects(hook, report)] == [(1, "campaign")]


@pytest.fixture
def stream_campaign_id(hook):
    spec = '{"assistant": {"stream_url": "wss://assistant.example.com/media"}}'
    with hook.db.cursor() as cur:
        cur.execute("insert into outcall_campaigns (name, spec, created_at, updated_at) "
                    "values ('spring', %s, %s, %s) returning id", (spec, NOW, NOW))
        cid = cur.fetchone()[0]
    hook.db.commit()
    return cid


def test_a_row_too_long_for_the_stream_twiml_is_rejected_naming_its_line_and_variable(hook, stream_campaign_id,
                                                                                      tmp_path):
    path = write(tmp_path, "phone_number,first_name,note\n"
                           f"+14155550101,Ana,short\n+14155550102,Rui,{'n' * 3900}\n+14155550103,Eva,ok\n")
    report = hook.import_leads_csv(stream_campaign_id, path, None, NOW)
    assert (report.imported, report.rejected) == (2, 1)
    [(line, field, reason, skipped)] = rejects(hook, report)
    assert (line, field, skipped) == (3, "note", True)
    assert "over Twilio's limit of 4000 characters (error 32018)" in reason
    assert [r[0] for r in leads(hook, stream_campaign_id)] == ["+14155550101", "+14155550103"]


def test_a_voice_url_campaign_keeps_long_variables(hook, campaign_id, tmp_path):
    path = write(tmp_path, f"phone_number,note\n+14155550101,{'n' * 3900}\n")
    assert hook.import_leads_csv(campaign_id, path, None, NOW).imported == 1
