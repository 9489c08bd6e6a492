"""`outcall`: the command line for the campaign store.

    outcall db migrate
    outcall validate FILE...
    outcall import-leads CAMPAIGN FILE.csv [--default-region US]
    outcall status CAMPAIGN
    outcall leads set-status CAMPAIGN LEAD created|completed
    outcall preview CAMPAIGN --at ISO-TIME [--json]
    outcall compliance rules [--state XX] [--campaign CAMPAIGN]
    outcall dnc add|remove|check|lists|import|sync ...
    outcall export CAMPAIGN --format csv|jsonl [--rows leads|attempts] [--since ISO-TIME] [--output FILE]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
from contextlib import contextmanager, redirect_stdout

import psycopg

from outcall_provider import clock
from outcall_provider.campaign_files import find_campaign, load_campaign, state_rules
from outcall_provider.cli_dnc import add_parsers as add_dnc_parsers
from outcall_provider.exceptions import CampaignFileError, LeadFileError, OutcallError
from outcall_provider.rules.describe import describe, local_and_utc, when_open, window_words
from outcall_provider.rules.phone import mask_phone, mask_phones_in_text
from outcall_provider.rules.state_rules import StateRules
from outcall_provider.rules.states import HAND_SET_LEAD_STATUSES, HOLD_REASONS, TERMINAL_LEAD_STATUSES, LeadStatus

REJECTS_SHOWN = 20
# preview: the groups a person looks for first
PREVIEW_ORDER = {"due": 0, "waiting": 1, LeadStatus.SCHEDULED.value: 2, LeadStatus.PROCESSING.value: 3}
PHONE_FIELDS = ("phone_number", "secondary_phone_")


def say(text: str, err: bool = False) -> None:
    """Print a line that may carry a phone number from outside (an error, a reason, a user's
    argument): every number in it keeps only its last 4 digits. Lines built from our own
    fields mask their phone with mask_phone instead (this would also mask a date's digits)."""
    print(mask_phones_in_text(text), file=sys.stderr if err else sys.stdout)


_opened: list = []  # hooks a command opened; main closes them


def _hook(campaign=None, conn_id: str | None = None):
    with redirect_stdout(io.StringIO()):  # Airflow may log as it loads: stdout is for our output (--json)
        from outcall_provider.hooks.campaign import CampaignHook  # Airflow is slow to import; only when needed

    hook = CampaignHook(conn_id or (campaign.db_conn_id if campaign else "outcall_db"))
    _opened.append(hook)
    return hook


def cmd_db_migrate(args) -> int:
    hook = _hook(conn_id=args.conn_id)
    applied = hook.migrate()
    print(f"applied: {', '.join(applied)}" if applied else "the store is up to date")
    return 0


def cmd_validate(args) -> int:
    failed = 0
    for path in args.files:
        try:
            campaign = load_campaign(path)
        except CampaignFileError as e:
            failed += 1
            print(f"INVALID {e.path}")
            for error in e.errors:
                say(f"  - {error}")
        else:
            print(f"ok      {path} → DAG {campaign.dag_id}")
            for what, words in [*describe(campaign, phone=mask_phone),
                                ("now", when_open(campaign.window(), clock.now()))]:
                print(f"  {what}: {words}")  # not say(): it would take a date for a phone number
    return 1 if failed else 0


def cmd_import_leads(args) -> int:
    campaign = find_campaign(args.campaign)
    region = args.default_region or campaign.default_region
    hook = _hook(campaign, args.conn_id)
    now = clock.now()
    campaign_id = hook.upsert_campaign(campaign, now)
    try:
        report = hook.import_leads_csv(campaign_id, args.file, region, now)
    except LeadFileError as e:
        say(f"error: {e}", err=True)
        return 1
    print(f"imported {report.imported}, updated {report.updated}, rejected {report.rejected}"
          + (f", kept with a dropped contact {report.warnings}" if report.warnings else ""))
    if report.rejected or report.warnings:
        print(f"rejects are kept in the store: import report {report.report_id} "
              f"(table outcall_import_rejects, report_id = {report.report_id})")
        for r in hook.import_rejects(report.report_id, REJECTS_SHOWN):
            what = "rejected" if r["skipped_row"] else "dropped "
            value = r["value"]
            if value and (r["field"] or "").startswith(PHONE_FIELDS):
                value = mask_phone(value)  # even a short or malformed number shows only 4 digits
            field = f" {r['field']}={value!r}" if r["field"] else ""
            print(f"  line {r['line']}: {what}{field}: {mask_phones_in_text(r['reason'])}")
        if report.rejected + report.warnings > REJECTS_SHOWN:
            print(f"  … {report.rejected + report.warnings - REJECTS_SHOWN} more")
    return 0


def cmd_status(args) -> int:
    campaign = find_campaign(args.campaign)
    hook = _hook(campaign, args.conn_id)
    row = hook.get_campaign(campaign.name)
    if row is None:
        print(f"campaign {campaign.name}: not in the store yet (no leads imported)")
        return 1
    stats = hook.campaign_stats(row["id"])
    print(f"campaign {campaign.name} ({row['status']}): {stats['leads']} leads")
    print("leads by status:")
    for status, n in stats["leads_by_status"].items():
        print(f"  {status:<12} {n}")
    print("attempts by outcome:")
    for outcome, n in sorted(stats["attempts_by_outcome"].items()) or [("(none yet)", 0)]:
        print(f"  {outcome:<16} {n}")
    if campaign.goal:
        pct = f"{stats['conversion']:.1%}" if stats["conversion"] is not None else "n/a"
        print(f"goal {campaign.goal}: {stats['goal_met']} of {stats['leads']} leads ({pct})")
    else:
        print("goal: none set (retry.until_goal)")
    print(f"cost so far: {stats['cost']:.2f}")
    return 0


def cmd_leads_set_status(args) -> int:
    campaign = find_campaign(args.campaign)
    hook = _hook(campaign, args.conn_id)
    campaign_id = hook.campaign_id(campaign.name)
    lead_id = hook.find_lead(campaign_id, args.lead)
    if lead_id is None:
        say(f"no lead {args.lead!r} in campaign {campaign.name} (give its id, external_id or phone)", err=True)
        return 1
    row = hook.set_lead_status(campaign_id, lead_id, args.status, clock.now())  # LeadBusy: see main
    print(f"lead {row['id']} → {row['status']}")
    return 0


def _gate(campaign, hook):
    from outcall_provider.engine.compliance import ComplianceGate

    return ComplianceGate(hook, campaign)


def cmd_preview(args) -> int:
    campaign = find_campaign(args.campaign)
    at = _time_option("--at", args.at) or clock.now()
    window = campaign.window()
    hook = _hook(campaign, args.conn_id)
    campaign_id = hook.campaign_id(campaign.name)
    gate = _gate(campaign, hook)
    if args.json:  # one line per lead: whether it would be dialed at `at`, and every reason why not
        for facts in hook.hold_facts(campaign_id, **gate.hold_params(at)):
            reasons = gate.reasons(facts, at)
            print(json.dumps({"lead_id": facts["lead_id"], "external_id": facts["external_id"],
                              "dialable": not reasons,
                              "reasons": [{"code": code.value, "why": why} for code, why in reasons]}))
        return 0
    groups = hook.preview(campaign_id, at, args.sample)
    is_open = window.is_open(at)
    tz = campaign.assistant.timezone
    print(f"at {local_and_utc(at, tz)}: calling window {window_words(campaign.schedule, tz)}: "
          + when_open(window, at))
    # the leads a tick would dial first, then those waiting, then the busy ones; terminal ones are only counted
    groups.sort(key=lambda g: PREVIEW_ORDER.get(g["reason"], len(PREVIEW_ORDER)))
    for g in groups:
        if g["reason"] in TERMINAL_LEAD_STATUSES:
            print(f"{g['leads']} leads are done (status {g['reason']}): not dialed again")
            continue
        if g["reason"] == "due":
            head = (f"would dial {g['leads']} leads" if is_open
                    else f"{g['leads']} leads are due but not dialed: the window is closed")
        elif g["reason"] == "waiting":
            head = f"{g['leads']} leads wait for their next attempt (earliest {local_and_utc(g['earliest_due'], tz)})"
        else:
            head = f"{g['leads']} leads not dialed: status {g['reason']}"
        print(head)
        for lead in g["sample"]:
            ident = lead["external_id"] or lead["id"]
            contact = mask_phone(lead["contact_phone"] or lead["phone_number"])
            print(f"    lead {ident}: {contact} round {lead['round']} contact {lead['contact_index']} "
                  f"due {local_and_utc(lead['due_at'], tz)}")
        if g["leads"] > len(g["sample"]):
            print(f"    … {g['leads'] - len(g['sample'])} more")
    held = gate.held_counts(hook.hold_groups(campaign_id, **gate.hold_params(at)), at)
    dialable = held.pop("dialable")
    print(f"dialable at that moment: {dialable} leads; held back (a lead counts under each of its reasons): "
          + (", ".join(f"{code} {n}" for code, n in held.items() if n) or "none"))
    return 0


def cmd_compliance_rules(args) -> int:
    """The state rules that apply: the shipped table, or a campaign's with its own file."""
    rules = state_rules(find_campaign(args.campaign)) if args.campaign else StateRules.shipped()
    print(rules.describe(args.state))
    return 0


class _BadOption(Exception):
    """A command-line value that is not allowed: main prints the message as is, in one line."""


def _time_option(option: str, value: str | None):
    """An ISO time option (UTC when it has no offset), or None when not given."""
    try:
        return clock.parse_time(value) if value else None
    except ValueError:
        # the user's value masked like any text from outside; the examples are ours, kept whole
        raise _BadOption(f"error: {option} {mask_phones_in_text(repr(value))} is not an ISO time; "
                         "allowed e.g. 2026-11-28T09:00 or 2026-11-28T09:00-05:00") from None


def cmd_export(args) -> int:
    """The campaign's results as a file: the rows its results table gets, phone numbers in full
    (the point of an export); nothing of them is logged."""
    from dataclasses import replace

    from outcall_provider.hooks.results import ResultsHook
    from outcall_provider.rules import results

    if args.format not in results.FORMATS:
        say(f"error: --format {args.format!r} is not allowed; allowed {', '.join(results.FORMATS)}", err=True)
        return 1
    if args.rows not in results.ROW_KINDS:
        say(f"error: --rows {args.rows!r} is not allowed; allowed {', '.join(results.ROW_KINDS)}", err=True)
        return 1
    since = _time_option("--since", args.since)
    campaign = find_campaign(args.campaign)
    if args.conn_id:
        campaign = replace(campaign, db_conn_id=args.conn_id)
    columns = results.LEAD_COLUMNS if args.rows == "leads" else results.ATTEMPT_COLUMNS
    with _file_output(args.output) as out:
        hook = ResultsHook(campaign)
        _opened.append(hook)
        rows = hook.rows(args.rows, since)  # an unknown campaign fails here, before a line is written
        n = -1 if args.format == "csv" else 0  # a CSV header is not a row
        for line in results.file_lines(rows, columns, args.format, campaign.name):
            out.write(line)
            n += 1
    if args.output:
        print(f"{n} {args.rows} written to {args.output}")
    return 0


@contextmanager
def _file_output(path: str | None):
    """Where an exported file goes: `path`, or standard output kept for the file alone: while
    the command runs, anything else printed there (Airflow's logs) goes to stderr instead."""
    if path:
        with open(path, "w", encoding="utf-8", newline="") as out:
            yield out
        return
    sys.stdout.flush()
    saved = os.dup(1)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="")
    os.dup2(2, 1)
    try:
        yield out
    finally:
        out.close()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """A usage error in one line, like every other error (argparse would print the usage first)."""
        say(f"error: {message}; see {self.prog} --help", err=True)
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="outcall", description="outbound call campaigns on Airflow")
    p.add_argument("--conn-id",
                   help="Airflow connection of the campaign store (default: the campaign's, else outcall_db)")
    sub = p.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="the campaign store").add_subparsers(dest="db_command", required=True)
    db.add_parser("migrate", help="apply schema migrations").set_defaults(func=cmd_db_migrate)
    v = sub.add_parser("validate", help="check campaign files")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=cmd_validate)
    i = sub.add_parser("import-leads", help="import a lead CSV into a campaign")
    i.add_argument("campaign")
    i.add_argument("file")
    i.add_argument("--default-region", help="region for national numbers (default: the campaign's)")
    i.set_defaults(func=cmd_import_leads)
    s = sub.add_parser("status", help="leads by status, attempts by outcome, goal conversion")
    s.add_argument("campaign")
    s.set_defaults(func=cmd_status)
    leads = sub.add_parser("leads", help="act on leads").add_subparsers(dest="leads_command", required=True)
    ss = leads.add_parser("set-status", help="set a lead back to created, or to completed")
    ss.add_argument("campaign")
    ss.add_argument("lead", help="lead id, external_id or phone number")
    ss.add_argument("status", choices=HAND_SET_LEAD_STATUSES)
    ss.set_defaults(func=cmd_leads_set_status)
    pv = sub.add_parser("preview", help="who would be dialed at a moment, and why not the others")
    pv.add_argument("campaign")
    pv.add_argument("--at", help="ISO time (default: now); without an offset it is UTC")
    pv.add_argument("--sample", type=int, default=5, help="leads shown per group")
    pv.add_argument("--json", action="store_true",
                    help="one JSON object per lead and line: lead_id, external_id, dialable, reasons "
                         f"(codes: {', '.join(HOLD_REASONS)}, each with a why)")
    pv.set_defaults(func=cmd_preview)
    cp = sub.add_parser("compliance", help="compliance rules").add_subparsers(dest="compliance_command",
                                                                             required=True)
    cr = cp.add_parser("rules", help="the US state calling rules that apply, with their sources")
    cr.add_argument("--state", help="one state (USPS code, e.g. FL)")
    cr.add_argument("--campaign", help="with this campaign's compliance.state_rules file")
    cr.set_defaults(func=cmd_compliance_rules)
    add_dnc_parsers(sub, lambda conn_id: _hook(conn_id=conn_id))
    ex = sub.add_parser("export", help="the campaign's results as CSV or JSON Lines (phone numbers in full)")
    ex.add_argument("campaign")
    ex.add_argument("--format", default="csv", help="csv (default) or jsonl")
    ex.add_argument("--rows", default="leads",
                    help="leads (one row per lead, default) or attempts (one per judged call)")
    ex.add_argument("--since", help="only rows changed at or after this ISO time (without an offset it is UTC)")
    ex.add_argument("--output", help="write to this file (default: standard output)")
    ex.set_defaults(func=cmd_export)
    return p


def database_error(e: Exception) -> str:
    """A PostgreSQL error as one line: its message and detail (which may name a phone number)."""
    diag = getattr(e, "diag", None)
    parts = [diag.message_primary, diag.message_detail] if diag is not None else []
    text = " ".join((" — ".join(p for p in parts if p) or str(e)).split())
    if getattr(e, "sqlstate", None) == "23505":  # unique_violation: two writers raced for one row
        text += " (another command wrote the same row at the same moment; run this one again)"
    return "the campaign store refused the command: " + text


def undefined_connection(e: Exception) -> str | None:
    """The conn_id when `e` is Airflow's "The conn_id `X` isn't defined", else None."""
    if "airflow" not in sys.modules:  # only commands that opened a connection imported Airflow
        return None
    from airflow.exceptions import AirflowNotFoundException

    found = re.search(r"conn_id `([^`]+)`", str(e)) if isinstance(e, AirflowNotFoundException) else None
    return found.group(1) if found else None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except _BadOption as e:
        print(e, file=sys.stderr)  # not say(): it would take the example dates for phone numbers
        return 1
    except (OutcallError, LookupError, OSError) as e:
        say(f"error: {e}", err=True)
        return 1
    except psycopg.Error as e:
        say(f"error: {database_error(e)}", err=True)
        return 1
    except Exception as e:
        conn_id = undefined_connection(e)
        if conn_id is None:
            raise
        say(f"error: the connection {conn_id!r} is not defined; run `source .run/env` (make run) "
            f"or define AIRFLOW_CONN_{conn_id.upper()}", err=True)
        return 1
    finally:
        while _opened:
            _opened.pop().close()


if __name__ == "__main__":
    sys.exit(main())
