"""`outcall dnc …` against a real store: what a user reads, every phone number masked to its
last 4 digits. The commands are parsed by a parser of the test's own with the same arguments
as `outcall` (top-level --conn-id, then `dnc …`), and run with main's handling of errors."""
from __future__ import annotations

import argparse
import re
from datetime import datetime, timezone

import pytest

from outcall_provider import cli
from outcall_provider.cli_dnc import add_parsers
from outcall_provider.exceptions import OutcallError

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
A, B, C = "+14155550101", "+14155550102", "+14155550103"
FULL_NUMBER = re.compile(r"\d{7,}")


@pytest.fixture
def store(hook):
    """The hook fixture empties every table of the store, do-not-call lists included."""
    return hook


@pytest.fixture
def outcall(store, capsys):
    """Run `outcall ARGS…`; returns (exit code, stdout, stderr), checked for unmasked numbers."""
    used: list = []

    def factory(conn_id):
        used.append(conn_id)
        return store

    def run(*argv):
        p = cli._Parser(prog="outcall")
        p.add_argument("--conn-id")
        add_parsers(p.add_subparsers(dest="command", required=True), factory)
        try:
            args = p.parse_args(list(argv))
            code = args.func(args)
        except OutcallError as e:  # as cli.main handles them
            cli.say(f"error: {e}", err=True)
            code = 1
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        assert not FULL_NUMBER.search(out + err), out + err
        return code, out, err

    run.conn_ids = used
    return run


def test_add_check_remove(outcall, store):
    code, out, _ = outcall("dnc", "add", A, "--note", f"asked by email from {B}")
    assert code == 0 and "+*******0101 added to list hand" in out
    assert store.is_suppressed(A)
    code, out, _ = outcall("dnc", "add", A)
    assert "already on list hand" in out
    code, out, _ = outcall("dnc", "check", A)
    assert code == 0 and "is suppressed: on list hand" in out and "via the command line" in out
    assert "0102" in out  # the note's number, masked
    outcall("dnc", "add", A, "--list", "crm")
    code, out, _ = outcall("dnc", "remove", A, "--list", "hand")
    assert code == 0 and "removed from list hand" in out and "still suppressed: on list crm" in out
    code, out, _ = outcall("dnc", "remove", A)
    assert "removed from list crm" in out and "no longer suppressed" in out
    code, out, _ = outcall("dnc", "remove", A)
    assert code == 1 and "not on any do-not-call list" in out
    code, out, _ = outcall("dnc", "check", "(415) 555-0101", "--default-region", "US")
    assert code == 0 and "+*******0101 is not on any do-not-call list" in out


def test_bad_input_is_one_masked_line(outcall, store):
    code, _, err = outcall("dnc", "add", "4155550101")
    assert code == 1 and "error:" in err and "0101" in err and "national number" in err
    code, _, err = outcall("dnc", "add", A, "--list", "Not OK")
    assert code == 2 and "not a list name" in err
    assert store.dnc_lists() == []


def test_import_prints_counts_rejected_lines_and_suppressed_leads(outcall, store, tmp_path):
    path = tmp_path / "dnc.csv"
    rows = [A, "12345", B, "+1415555999912345", *[f"bad-{i}" for i in range(25)]]
    path.write_text("phone_number,name\n" + "".join(f"{r},x\n" for r in rows))
    code, out, _ = outcall("dnc", "import", str(path), "--list", "crm")
    assert code == 0, out
    assert "list crm: added 2, rejected 27 (2 numbers on the list now)" in out
    assert "  line 3: rejected phone_number='*2345': " in out
    assert "  line 5: rejected" in out and "… 7 more" in out
    assert out.count("rejected phone_number") == 20
    assert "0 leads suppressed" in out


def test_sync_prints_added_and_removed(outcall, store):
    store.dnc_add([A, B], "warehouse", "query on outcall_db", NOW)
    sql = f"select '{B}' as phone_number union all select '{C}'"
    code, out, _ = outcall("--conn-id", "outcall_db", "dnc", "sync", "--list", "warehouse",
                           "--conn-id", "outcall_db", "--sql", sql)
    assert code == 0, out
    assert "list warehouse: added 1, removed 1, rejected 0 (2 numbers on the list now)" in out
    assert outcall.conn_ids[-1] == "outcall_db"
    code, _, err = outcall("dnc", "sync", "--list", "warehouse", "--conn-id", "outcall_db",
                           "--sql", "select 'x' as phone_number")
    assert code == 1 and "keeps its 2 numbers" in err


def test_lists(outcall, store):
    code, out, _ = outcall("dnc", "lists")
    assert code == 0 and "no do-not-call lists" in out
    store.dnc_add([A, B], "hand", None, NOW)
    store.dnc_add([A], "opt-out", f"call CA1 to {A}", NOW)
    code, out, _ = outcall("dnc", "lists")
    assert re.search(r"hand\s+2\s+2026-11-02 15:00", out) and re.search(r"opt-out\s+1", out)
    assert "2 numbers suppressed in all" in out


def test_the_store_is_the_top_level_conn_id(outcall):
    outcall("--conn-id", "outcall_db", "dnc", "lists")
    outcall("dnc", "lists")
    assert outcall.conn_ids == ["outcall_db", "outcall_db"]


def test_parsers_fit_outcalls_own_parser():
    """The lines cli.py needs: `dnc` added to outcall's subparsers next to its own commands."""
    p = cli.parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    if "dnc" not in sub.choices:
        add_parsers(sub, lambda conn_id: None)
    args = p.parse_args(["--conn-id", "store", "dnc", "sync", "--list", "x", "--conn-id", "wh", "--sql", "q"])
    assert (args.conn_id, args.source_conn_id, args.list) == ("store", "wh", "x")
