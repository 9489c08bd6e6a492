"""Do-not-call lists against a real PostgreSQL: add, remove, check, CSV imports that keep the
good rows, syncs that replace one list and leave the others, and the leads a list suppresses
across every campaign of the store."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from outcall_provider.campaign_files import load_campaign
from outcall_provider.hooks.dnc import DncError

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
A, B, C, D = "+14155550101", "+14155550102", "+14155550103", "+14155550104"


@pytest.fixture
def store(hook):
    """The hook fixture empties every table of the store, do-not-call lists included."""
    return hook


def test_add_check_and_remove_a_number(store):
    v0 = store.dnc_version()
    assert not store.is_suppressed(A)
    assert store.dnc_add([A, B], "hand", "by ana", NOW) == 2
    assert store.dnc_add([A, C], "hand", "by rui", NOW + timedelta(hours=1)) == 1  # A kept as it was
    assert store.dnc_add(["(415) 555-0104"], "hand", None, NOW, default_region="US") == 1
    assert store.is_suppressed(A) and store.is_suppressed(D)
    [entry] = store.dnc_entries(A)
    assert (entry["list"], entry["source"], entry["added_at"]) == ("hand", "by ana", NOW)
    assert store.dnc_version() > v0
    assert store.dnc_add([A], "crm", "file", NOW + timedelta(days=1)) == 1
    assert [e["list"] for e in store.dnc_entries(A)] == ["hand", "crm"]
    assert store.dnc_remove(A, "hand") == 1
    assert store.is_suppressed(A)  # still on crm
    assert store.dnc_remove(A, "hand") == 0
    store.dnc_add([A], "hand", None, NOW)
    assert store.dnc_remove(A, None) == 2  # off every list
    assert not store.is_suppressed(A)


def test_bad_numbers_and_list_names_are_refused_with_numbers_masked(store):
    with pytest.raises(DncError, match="not allowed"):
        store.dnc_add([A], "Bad List!", None, NOW)
    with pytest.raises(DncError) as e:
        store.dnc_add([A, "4155550199"], "hand", None, NOW)  # national without a region
    assert "4155550199" not in str(e.value) and "0199" in str(e.value)
    assert not store.is_suppressed(A)  # one bad number adds none


def test_lists_show_counts_and_last_added(store):
    store.dnc_add([A, B], "hand", None, NOW)
    store.dnc_add([A], "state_dnc", None, NOW + timedelta(days=1))
    lists = store.dnc_lists()
    assert [(r["list"], r["numbers"], r["last_added_at"]) for r in lists] == [
        ("hand", 2, NOW), ("state_dnc", 1, NOW + timedelta(days=1))]
    assert store.dnc_suppressed_numbers() == 2


def test_import_keeps_the_good_rows_and_names_the_bad_lines(store, tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_text("name,phone_number,notes\n"
                    f"ana,{A},x\n"
                    "rui,12345,y\n"
                    "eva,(415) 555-0102,z\n"
                    "joe,,z\n"
                    f"ivo,{A},dup\n"
                    "lia,+1415555999912345,z\n")
    report = store.dnc_import_csv(path, "crm-optouts", NOW, default_region="US")
    assert (report.added, report.removed, report.rejected_count, report.list_size) == (2, 0, 3, 2)
    assert [(r["line"], r["field"]) for r in report.rejected] == [(3, "phone_number"), (5, "phone_number"),
                                                                  (7, "phone_number")]
    assert report.rejected[0]["value"] == "*2345" and report.rejected[0]["reason"]
    assert "14155559999" not in str(report.rejected)
    assert store.is_suppressed(B)
    # a second import ADDS: nothing is removed
    path.write_text(f"phone_number\n{C}\n")
    again = store.dnc_import_csv(path, "crm-optouts", NOW)
    assert (again.added, again.removed, again.list_size) == (1, 0, 3)


def test_import_without_a_phone_number_column_changes_nothing(store, tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_text(f"phone\n{A}\n")
    with pytest.raises(DncError, match="phone_number"):
        store.dnc_import_csv(path, "crm", NOW)
    assert store.dnc_lists() == []


def test_sync_replaces_its_list_and_leaves_the_others(store):
    store.dnc_add([A], "hand", "by ana", NOW)
    store.dnc_add([A], "opt-out", "call CA1", NOW)
    first = store.dnc_sync([A, B, C], "warehouse", "query on wh", NOW)
    assert (first.added, first.removed, first.list_size) == (3, 0, 3)
    later = NOW + timedelta(days=1)
    second = store.dnc_sync([(2, B), (3, "not a number"), (4, D)], "warehouse", "query on wh", later)
    assert (second.added, second.removed, second.list_size, second.rejected_count) == (1, 2, 2, 1)
    assert second.rejected[0]["line"] == 3
    on = {r["list"]: r["numbers"] for r in store.dnc_lists()}
    assert on == {"hand": 1, "opt-out": 1, "warehouse": 2}
    assert [e["list"] for e in store.dnc_entries(A)] == ["hand", "opt-out"]  # left warehouse only
    [kept] = store.dnc_entries(B)
    assert kept["added_at"] == NOW  # still in the source: its entry is untouched
    assert not store.is_suppressed(C)


def test_a_sync_whose_source_has_no_number_does_not_empty_the_list(store):
    store.dnc_sync([A, B], "warehouse", "q", NOW)
    with pytest.raises(DncError, match="keeps its 2 numbers"):
        store.dnc_sync(["garbage"], "warehouse", "q", NOW)
    assert store.dnc_lists()[0]["numbers"] == 2
    emptied = store.dnc_sync([], "warehouse", "q", NOW, allow_empty=True)
    assert (emptied.removed, emptied.list_size) == (2, 0)


def test_sync_from_a_query_on_an_airflow_connection(store):
    store.dnc_add([A], "crm", None, NOW)
    sql = (f"select * from (values ('{B}', 'x'), ('(415) 555-0103', 'y'), ('nope', 'z')) "
           "as t(phone_number, other)")
    report = store.dnc_sync_sql("outcall_db", sql, "crm", NOW, default_region="US")
    assert (report.added, report.removed, report.rejected_count) == (2, 1, 1)
    assert report.rejected[0]["line"] == 4  # as a CSV would number it: the header is line 1
    assert not store.is_suppressed(A) and store.is_suppressed(C)


def test_import_reports_the_open_leads_it_suppresses_in_every_campaign(store, tmp_path):
    example = load_campaign(ROOT / "include" / "campaigns" / "example.yaml")
    first = store.upsert_campaign(example, NOW)
    second = store.upsert_campaign(replace(example, name="second"), NOW)
    leads = tmp_path / "leads.csv"
    leads.write_text("phone_number,secondary_phone_1,external_id\n"
                     f"{A},,a\n"
                     f"+14155550111,{B},b\n"      # B is a secondary contact here
                     "+14155550112,,c\n")
    assert store.import_leads_csv(first, leads, None, NOW).imported == 3
    leads.write_text(f"phone_number,external_id\n{A},a2\n{C},c2\n")
    assert store.import_leads_csv(second, leads, None, NOW).imported == 2
    # the second campaign's C lead is done: it is not counted
    done = store.find_lead(second, C)
    store.set_lead_status(second, done, "completed", NOW)
    path = tmp_path / "dnc.csv"
    path.write_text(f"phone_number\n{A}\n{B}\n{C}\n")
    report = store.dnc_import_csv(path, "crm", NOW)
    assert report.added == 3
    assert report.suppressed_leads == 3  # A in both campaigns, B's lead by its secondary
    assert store.dnc_suppressed_leads("crm") == 3
    assert store.dnc_sync([A], "crm", "q", NOW).suppressed_leads == 2


def test_a_large_import_completes(store, tmp_path):
    n = 100_000
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("phone_number,source\n")
        for i in range(n):
            f.write(f"+1415{2000000 + i:07d},crm\n")
        f.write("bad,crm\n")
    report = store.dnc_import_csv(path, "big", NOW)
    assert (report.added, report.rejected_count, report.list_size) == (n, 1, n)
    assert report.rejected[0]["line"] == n + 2
    assert store.dnc_sync((f"+1415{2000000 + i:07d}" for i in range(0, n, 2)), "big", "q", NOW).removed == n // 2
