"""Lead CSV import against a real PostgreSQL: every awkward file a data team sends us."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from outcall_provider.hooks import lead_import
from outcall_provider.rules.leads import LeadFileError

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
                    "where c.lead_id = l.id order by c.position) from outcall_leads l where campaign_id = %s order by l.id",
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
    with pytest.raises(LeadFileError, match=r"required column `phone_number` is missing \(columns found: phone, first_name\)"):
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
    path = write(tmp_path, 'phone_number,notes\n+14155550101,"two\nlines"\nnot-a-phone,x\n+14155550102,"tab\there, back\\\\slash"\n')
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
    assert rejects(hook, report)[0][2] == "phone_number already belongs to another lead of this campaign (external_id crm-1)"


def test_parallel_import_matches_in_process_import(hook, campaign_id, tmp_path, monkeypatch):
    monkeypatch.setattr(lead_import, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(lead_import, "CHUNK_ROWS", 7)
    monkeypatch.setattr(lead_import, "BLOCK_ROWS", 20)
    body = "".join(f"+1415555{i:04d},n{i}\n" if i % 10 else f"bad{i},n{i}\n" for i in range(100, 160))
    path = write(tmp_path, "phone_number,name\n" + body)
    report = hook.import_leads_csv(campaign_id, path, None, NOW, workers=2)
    assert (report.imported, report.rejected) == (54, 6)
    assert [r[0] for r in rejects(hook, report)] == [2, 12, 22, 32, 42, 52]
