"""ResultsHook: a campaign's results out of its store, into the warehouse table its file names
(`results: {conn_id, table}`) or into a file.

Each tick's export writes only what changed since the last one, by a watermark kept in the
store (`outcall_results_exports`): the snapshot the last export read under. A lead or attempt
is new exactly when the transaction that wrote it was not visible to that snapshot (migration
009 stamps every write with its transaction id). Rows are upserted by (campaign, lead_id) and
(campaign, attempt_id), and the watermark moves only once every row is written: a retried task
writes the same rows again in place, never a second copy.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

from outcall_provider import sql
from outcall_provider.exceptions import ResultsTableError
from outcall_provider.rules import results
from outcall_provider.rules.campaign import Campaign
from outcall_provider.rules.phone import mask_phones_in_text
from outcall_provider.rules.results import ATTEMPT_COLUMNS, ATTEMPT_KEY, LEAD_COLUMNS, LEAD_KEY, ExportCounts

RESULTS_LOCK = 4_242_004  # pg advisory lock id (with the campaign and destination): one export at a time
PAGE_ROWS = 1_000         # rows read from the store and written to the warehouse at a time

_KINDS = {  # row kind → (store query, columns, upsert key)
    "leads": ("results_leads", LEAD_COLUMNS, LEAD_KEY),
    "attempts": ("results_attempts", ATTEMPT_COLUMNS, ATTEMPT_KEY),
}


class ResultsHook:
    """`export(run_id)` for a campaign tick; `rows(kind, since)` for the export file."""

    def __init__(self, campaign: Campaign):
        from outcall_provider.hooks.campaign import CampaignHook  # migrates the store on first use

        self.campaign = campaign
        self.store = CampaignHook(campaign.db_conn_id)

    def close(self) -> None:
        self.store.close()

    def campaign_id(self) -> int:
        return self.store.campaign_id(self.campaign.name)

    # -- the export file -------------------------------------------------------------------
    def rows(self, kind: str, since=None) -> Iterator[dict[str, Any]]:
        """Every lead (or judged attempt) of the campaign, optionally only those changed since
        `since`, page by page. An unknown campaign raises here, before any row is produced."""
        campaign_id = self.campaign_id()
        return self._pages(self.store.db, kind, {"campaign_id": campaign_id, "snapshot": None, "since": since})

    # -- a tick's export ------------------------------------------------------------------
    def export(self, run_id: str, now) -> ExportCounts:
        """Write what changed since the last export to the campaign's results tables (with no
        `results:` in the file, only count it: the tick's asset event needs the counts).
        Returns the counts of this DAG run, earlier failed tries included."""
        target = self.campaign.results
        campaign_id = self.campaign_id()
        key = {"lock": RESULTS_LOCK, "campaign_id": campaign_id,
               "target": f"{target.conn_id}:{target.table}" if target else ""}
        db = self.store.db
        db.rollback()
        with db.cursor() as cur:
            cur.execute(sql.query("results_export_lock"), key)
        db.commit()
        try:
            warehouse = Warehouse(self.campaign) if target else None
            with db.cursor() as cur:
                # one snapshot for every page and for the watermark saved at the end
                cur.execute("set transaction isolation level repeatable read")
                cur.execute(sql.query("results_export_start"), key)
                snapshot, last_snapshot = cur.fetchone()
            params = {"campaign_id": campaign_id, "snapshot": last_snapshot, "since": None}
            counts, statuses = Counter(), Counter()
            # the calls first, the leads last: a reader who sees a lead's final status finds its
            # calls (each table's write commits as it goes; the two are not one transaction)
            for kind in ("attempts", "leads"):
                for page in self._page_lists(db, kind, params):
                    if warehouse:
                        warehouse.write(kind, page)
                    counts[kind] += len(page)
                    if kind == "leads":
                        statuses.update(results.status_counts(page))
            with db.cursor() as cur:
                cur.execute(sql.query("results_export_save"), {
                    **key, "snapshot": snapshot, "run_id": run_id, "leads": counts["leads"],
                    "attempts": counts["attempts"], "now": now})
                leads, attempts = cur.fetchone()
            db.commit()
        finally:
            db.rollback()
            with db.cursor() as cur:
                cur.execute(sql.query("results_export_unlock"), key)
            db.commit()
        return ExportCounts(leads, attempts, dict(statuses))

    def _page_lists(self, db, kind: str, params: dict) -> Iterator[list[dict[str, Any]]]:
        """The query's rows a page at a time, from a server-side cursor: memory stays flat
        whatever the campaign's size, and the query runs once."""
        with db.cursor(name=f"outcall_results_{kind}") as cur:
            cur.execute(sql.query(_KINDS[kind][0]), params)
            while rows := cur.fetchmany(PAGE_ROWS):
                cols = [d.name for d in cur.description]
                yield [dict(zip(cols, r)) for r in rows]

    def _pages(self, db, kind: str, params: dict) -> Iterator[dict[str, Any]]:
        try:
            for page in self._page_lists(db, kind, params):
                yield from page
        finally:
            db.rollback()


class Warehouse:
    """The campaign's results tables on any Airflow SQL connection (a DbApiHook), created on
    first use, checked when they exist, written with upserts (common-sql's insert_rows)."""

    def __init__(self, campaign: Campaign):
        from airflow.providers.common.sql.hooks.sql import DbApiHook
        from airflow.sdk import BaseHook

        self.campaign, self.target = campaign.name, campaign.results
        target = self.target
        hook = BaseHook.get_connection(target.conn_id).get_hook()
        if not isinstance(hook, DbApiHook):
            raise ResultsTableError(f"{campaign.path}: results.conn_id: connection {target.conn_id!r} is not a SQL "
                                    f"database connection (its hook {type(hook).__name__} is not a DbApiHook)")
        self.hook = hook
        # insert_rows logs its parameters when a write fails, and no full phone number may reach
        # a log: the hook logs through a masking wrapper (_log backs LoggingMixin.log)
        hook._log = _MaskedLog(hook.log)
        self._ready: set[str] = set()

    def table(self, kind: str) -> str:
        return self.target.table if kind == "leads" else self.target.attempts_table

    def ensure(self, kind: str) -> None:
        """Create the table when it is missing; else refuse one that cannot take the rows."""
        table = self.table(kind)
        schema, name = table.split(".")
        columns = _KINDS[kind][1]
        found = dict(self.hook.get_records(sql.query("results_columns").format(schema=schema, name=name)))
        if found:
            for column, kind_ in results.ADDED_COLUMNS.items():
                if column in {c.name for c in columns} and column not in found:
                    self.hook.run(sql.query("results_add_column").format(table=table, column=column, type=kind_))
                    found[column] = kind_
            results.check_table(table, columns, found)
        else:
            self.hook.run(sql.query("results_create_schema").format(schema=schema))
            self.hook.run(sql.query(f"results_create_{kind}").format(table=table))
        self._ready.add(kind)

    def write(self, kind: str, rows: list[dict[str, Any]]) -> None:
        if kind not in self._ready:
            self.ensure(kind)
        columns, key = _KINDS[kind][1:]
        values = [results.row_values(self.campaign, r, columns) for r in rows]
        try:
            self.hook.insert_rows(self.table(kind), values, target_fields=[c.name for c in columns],
                                  commit_every=PAGE_ROWS, replace=True, replace_index=list(key))
        except Exception as e:  # the driver's message may quote a row: mask it
            message = mask_phones_in_text(" ".join(str(e).split()))
            if "on conflict" in message.lower():
                message += f" (the table needs a primary key or unique index on ({', '.join(key)}))"
            raise ResultsTableError(f"writing {len(values)} rows to {self.table(kind)} on {self.target.conn_id} "
                                    f"failed: {message}") from None


class _MaskedLog:
    """A logger that masks every phone number in what it is asked to log."""

    def __init__(self, log):
        self._inner = log

    def __getattr__(self, level: str):
        method = getattr(self._inner, level)
        if level not in ("debug", "info", "warning", "error", "exception", "critical"):
            return method

        def masked(msg, *args, **kwargs):
            text = str(msg) % args if args else str(msg)
            return method("%s", mask_phones_in_text(text), **kwargs)
        return masked
