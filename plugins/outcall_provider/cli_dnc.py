"""`outcall dnc`: the do-not-call lists of a campaign store (shared by all its campaigns).

    outcall dnc add NUMBER [--list hand] [--note TEXT] [--default-region US]
    outcall dnc remove NUMBER [--list L]          (without --list: off every list)
    outcall dnc import FILE.csv --list NAME [--default-region US]
    outcall dnc sync --list NAME --conn-id CONN --sql QUERY [--default-region US] [--allow-empty]
    outcall dnc lists
    outcall dnc check NUMBER [--default-region US]

The store is the top-level `outcall --conn-id` (default outcall_db); `dnc sync --conn-id` names
the connection the list is read from. Every phone number printed keeps only its last 4 digits.
"""
from __future__ import annotations

import getpass
from datetime import timezone
from typing import Callable

from outcall_provider import clock
from outcall_provider.rules.phone import mask_phone, mask_phones_in_text

REJECTS_SHOWN = 20
DEFAULT_STORE = "outcall_db"


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "someone"


def add_parsers(sub, hook_factory: Callable[[str | None], object]) -> None:
    """Add `dnc` and its commands to the `outcall` subparsers. `hook_factory(conn_id)` gives the
    CampaignHook of the store (`--conn-id` of the top-level parser, default outcall_db)."""
    from outcall_provider.hooks.dnc import HAND_LIST

    def store(args):
        return hook_factory(getattr(args, "conn_id", None) or DEFAULT_STORE)

    def cmd_add(args) -> int:
        from outcall_provider.hooks.dnc import dnc_number

        number = dnc_number(args.number, args.default_region)
        source = f"by {_who()} via the command line" + (f": {args.note}" if args.note else "")
        added = store(args).dnc_add([number], args.list, source, clock.now())
        if added:
            print(f"{mask_phone(number)} added to list {args.list}")
        else:
            print(f"{mask_phone(number)} is already on list {args.list} (unchanged)")
        return 0

    def cmd_remove(args) -> int:
        from outcall_provider.hooks.dnc import dnc_number

        number = dnc_number(args.number, args.default_region)
        hook = store(args)
        left = hook.dnc_remove_lists(number, args.list)
        if not left:
            where = f"list {args.list}" if args.list else "any do-not-call list"
            print(f"{mask_phone(number)} is not on {where}: nothing removed")
            return 1
        print(f"{mask_phone(number)} removed from {_lists_words(left)}")
        remaining = sorted(e["list"] for e in hook.dnc_entries(number))
        if remaining:
            print(f"  still suppressed: on {_lists_words(remaining)}")
        else:
            print("  no longer suppressed: campaigns may call it again")
        return 0

    def cmd_import(args) -> int:
        now = clock.now()
        report = store(args).dnc_import_csv(args.file, args.list, now, args.default_region)
        _print_report(report)
        return 0

    def cmd_sync(args) -> int:
        now = clock.now()
        report = store(args).dnc_sync_sql(args.source_conn_id, args.sql, args.list, now, args.default_region,
                                          allow_empty=args.allow_empty)
        _print_report(report)
        return 0

    def cmd_lists(args) -> int:
        hook = store(args)
        lists = hook.dnc_lists()
        if not lists:
            print("no do-not-call lists: no number is suppressed")
        else:
            width = max(len(r["list"]) for r in lists)
            print(f"{'list':<{width}}  {'numbers':>9}  last added (UTC)")
            for r in lists:
                last = r["last_added_at"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") \
                    if r["last_added_at"] else "-"
                print(f"{r['list']:<{width}}  {r['numbers']:>9}  {last}")
            print(f"{hook.dnc_suppressed_numbers()} numbers suppressed in all")
        print(f"lists version {hook.dnc_version()}")
        return 0

    def cmd_check(args) -> int:
        from outcall_provider.hooks.dnc import dnc_number

        number = dnc_number(args.number, args.default_region)
        entries = store(args).dnc_entries(number)
        if not entries:
            print(f"{mask_phone(number)} is not on any do-not-call list: campaigns may call it")
            return 0
        print(f"{mask_phone(number)} is suppressed: on {_lists_words([e['list'] for e in entries])}")
        for e in entries:
            when = e["added_at"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            source = mask_phones_in_text(e["source"]) if e["source"] else "(no source)"
            print(f"  {e['list']}: added {when}, {source}")
        return 0

    p = sub.add_parser("dnc", help="do-not-call lists shared by every campaign of the store")
    dnc = p.add_subparsers(dest="dnc_command", required=True)

    a = dnc.add_parser("add", help="put a number on a list (default: hand)")
    a.add_argument("number", help="E.164 (+14155550100), or national with --default-region")
    a.add_argument("--list", default=HAND_LIST, type=_list_name, help=f"list name (default: {HAND_LIST})")
    a.add_argument("--note", help="why, kept as the entry's source")
    a.add_argument("--default-region", help="region of a national number, e.g. US")
    a.set_defaults(func=cmd_add)

    r = dnc.add_parser("remove", help="take a number off a list (without --list: off every list)")
    r.add_argument("number")
    r.add_argument("--list", type=_list_name, help="only this list (default: every list)")
    r.add_argument("--default-region", help="region of a national number, e.g. US")
    r.set_defaults(func=cmd_remove)

    i = dnc.add_parser("import", help="add the numbers of a CSV's phone_number column to a list")
    i.add_argument("file")
    i.add_argument("--list", required=True, type=_list_name, help="list name: a-z, 0-9, _ and -")
    i.add_argument("--default-region", help="region of national numbers, e.g. US")
    i.set_defaults(func=cmd_import)

    s = dnc.add_parser("sync", help="replace a list with the phone_number column of a query")
    s.add_argument("--list", required=True, type=_list_name, help="list name: a-z, 0-9, _ and -")
    s.add_argument("--conn-id", dest="source_conn_id", required=True,
                   help="Airflow connection the query runs on (the store is `outcall --conn-id`)")
    s.add_argument("--sql", required=True, help="a query with a phone_number column")
    s.add_argument("--default-region", help="region of national numbers, e.g. US")
    s.add_argument("--allow-empty", action="store_true",
                   help="let a query with no valid number empty the list (refused otherwise)")
    s.set_defaults(func=cmd_sync)

    ls = dnc.add_parser("lists", help="every list with its size")
    ls.set_defaults(func=cmd_lists)

    c = dnc.add_parser("check", help="is a number suppressed, and on which lists")
    c.add_argument("number")
    c.add_argument("--default-region", help="region of a national number, e.g. US")
    c.set_defaults(func=cmd_check)


def _list_name(value: str) -> str:
    import argparse

    from outcall_provider.hooks.dnc import LIST_NAME

    if not LIST_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{mask_phones_in_text(repr(value))} is not a list name "
                                         "(1–64 of a-z, 0-9, _ and -)")
    return value


def _lists_words(lists: list[str]) -> str:
    return ("list " if len(lists) == 1 else "lists ") + ", ".join(lists)


def _print_report(report) -> None:
    what = f"list {report.list}: added {report.added}"
    if report.synced:
        what += f", removed {report.removed}"
    print(f"{what}, rejected {report.rejected_count} ({report.list_size} numbers on the list now)")
    for r in report.rejected[:REJECTS_SHOWN]:
        where = f"line {r['line']}" if r["line"] is not None else "a row"
        value = f" {r['field']}={r['value']!r}" if r["value"] else ""
        print(f"  {where}: rejected{value}: {mask_phones_in_text(r['reason'])}")
    if report.rejected_count > REJECTS_SHOWN:
        print(f"  … {report.rejected_count - REJECTS_SHOWN} more")
    print(f"{report.suppressed_leads} leads suppressed (not done yet, in any campaign of the store)")
