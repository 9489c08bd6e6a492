"""Streaming lead import: rows → validated COPY into a staging table → set-based upsert.

Validation (phone parsing) is the costly part, so rows are validated in worker processes
while PostgreSQL merges the previous block; memory stays flat whatever the file size.
This module imports no Airflow so that worker processes start light.
"""
from __future__ import annotations

import csv
import itertools
import json
import os
import queue
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Iterable, Iterator

from outcall_provider import sql
from outcall_provider.rules.leads import LeadColumns, LeadFileError, parse_row, read_header

CHUNK_ROWS = 5_000          # rows per worker task
BLOCK_ROWS = 100_000        # rows per COPY + merge round trip
PARALLEL_MIN_ROWS = 20_000  # below this, worker start-up costs more than it saves
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class ImportReport:
    report_id: int
    source: str
    imported: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    error: str | None = None


def _text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPE)


def encode_chunk(cols: LeadColumns, rows: list[tuple[int, list[str]]], default_region: str | None) -> str:
    """Validate rows and encode them as COPY text for outcall_stage (runs in a worker)."""
    out: list[str] = []
    for line, row in rows:
        lead, problems = parse_row(cols, row, line, default_region)
        if lead is not None:
            out.append(f"{line}\tL\t{_text(lead.external_id)}\t{lead.phone_number}\t"
                       f"{{{','.join(lead.secondaries)}}}\t"
                       f"{_text(json.dumps(lead.variables, ensure_ascii=False))}\t\\N\t\\N\t\\N\n")
        for p in problems:
            kind = "R" if p.skipped_row else "W"
            out.append(f"{p.line}\t{kind}\t\\N\t\\N\t\\N\t\\N\t{_text(p.field)}\t"
                       f"{_text(p.value)}\t{_text(p.reason)}\n")
    text = "".join(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _reject_bad_bytes(cols, rows, default_region)
    return text


def _reject_bad_bytes(cols, rows, default_region) -> str:
    """Slow path for a chunk holding bytes that are not UTF-8: reject just those rows."""
    good, out = [], []
    for line, row in rows:
        try:
            for value in row:
                value.encode("utf-8")
            if any("\x00" in value for value in row):
                raise ValueError
            good.append((line, row))
        except (UnicodeEncodeError, ValueError):
            shown = ",".join(row).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            reason = "contains bytes that are not UTF-8 (save the file as UTF-8)"
            if "\x00" in shown:
                reason, shown = "contains a NUL byte", shown.replace("\x00", "\\x00")
            out.append(f"{line}\tR\t\\N\t\\N\t\\N\t\\N\t\\N\t{_text(shown[:200])}\t{_text(reason)}\n")
    return encode_chunk(cols, good, default_region) + "".join(out) if good else "".join(out)


def csv_records(path: str) -> tuple[list[str] | None, Iterator[tuple[int, list[str]]]]:
    """The header and (first line number, fields) of each record; quoted newlines span lines."""
    f = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(f)
    header = next(reader, None)

    def records():
        with f:
            last = reader.line_num
            for row in reader:
                start, last = last + 1, reader.line_num
                if row:  # blank lines carry nothing
                    yield start, row
    return header, records()


def _chunks(records: Iterable[tuple[int, list[str]]], size: int) -> Iterator[list]:
    chunk: list = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _encoded(cols, records, default_region, workers: int) -> Iterator[tuple[int, str]]:
    """(row count, COPY text) per chunk, in file order, validated in `workers` processes."""
    chunks = _chunks(records, CHUNK_ROWS)
    first = []
    for chunk in chunks:  # peek: small files stay in-process
        first.append(chunk)
        if len(first) * CHUNK_ROWS >= PARALLEL_MIN_ROWS:
            break
    if workers <= 1 or len(first) * CHUNK_ROWS < PARALLEL_MIN_ROWS:
        for chunk in itertools.chain(first, chunks):
            yield len(chunk), encode_chunk(cols, chunk, default_region)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pending: deque = deque()
        for chunk in itertools.chain(first, chunks):
            pending.append((len(chunk), pool.submit(encode_chunk, cols, chunk, default_region)))
            if len(pending) >= workers * 8:  # bounded read-ahead keeps memory flat
                n, fut = pending.popleft()
                yield n, fut.result()
        while pending:
            n, fut = pending.popleft()
            yield n, fut.result()


def import_records(conn, campaign_id: int, source: str, header: list[str] | None,
                   records: Iterable[tuple[int, list[str]]], default_region: str | None,
                   now, workers: int | None = None) -> ImportReport:
    """Import one source into a campaign in one transaction; the report is kept in the store."""
    with conn.cursor() as cur:
        cur.execute(sql.query("import_report_start"), {"campaign_id": campaign_id, "source": source, "now": now})
        report = ImportReport(report_id=cur.fetchone()[0], source=source)
    conn.commit()
    try:
        if header is None:
            raise LeadFileError(source, ["the file is empty: a header row with a `phone_number` column is required"])
        cols = read_header(header, source)
    except LeadFileError as e:
        report.error = str(e)
        with conn.cursor() as cur:
            cur.execute(sql.query("import_report_finish"), {**vars(report), "now": now})
        conn.commit()
        raise
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    params = {"campaign_id": campaign_id, "report_id": report.report_id, "now": now}
    with conn.cursor() as cur:
        cur.execute(sql.query("import_stage_create"))
        merger = _BlockMerger(cur, params, report)
        try:
            pending_rows, block = 0, []
            for n, text in _encoded(cols, records, default_region, workers):
                block.append(text)
                pending_rows += n
                if pending_rows >= BLOCK_ROWS:
                    merger.put(block)
                    pending_rows, block = 0, []
            merger.put(block)
        finally:
            merger.close()
        cur.execute(sql.query("import_report_finish"), {**vars(report), "now": now})
    conn.commit()
    return report


class _BlockMerger:
    """Merges blocks on a thread of its own, so files keep being read and validated while
    PostgreSQL works (psycopg releases the GIL while it waits for the server)."""

    def __init__(self, cur, params: dict, report: ImportReport):
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(cur, params, report), daemon=True)
        self._thread.start()

    def _run(self, cur, params, report) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None:
                try:
                    _merge_block(cur, block, params, report)
                except BaseException as e:  # re-raised in the caller's thread
                    self._error = e

    def put(self, block: list[str]) -> None:
        if self._error is not None:
            raise self._error
        if block:
            self._queue.put(block)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _merge_block(cur, block: list[str], params: dict, report: ImportReport) -> None:
    if not block:
        return
    with cur.copy("copy outcall_stage from stdin") as copy:
        for text in block:
            copy.write(text)
    cur.execute(sql.query("import_merge_resolve"), params)
    cur.execute(sql.query("import_merge_rejects"), params)
    cur.execute(sql.query("import_merge_update"), params)
    report.updated += cur.rowcount
    cur.execute(sql.query("import_merge_insert"), params)
    report.imported += cur.rowcount
    cur.execute(sql.query("import_merge_contacts"), params)
    cur.execute("select count(*) filter (where skipped_row), count(*) filter (where not skipped_row) "
                "from outcall_import_rejects where report_id = %(report_id)s", params)
    report.rejected, report.warnings = cur.fetchone()
    cur.execute("truncate outcall_stage; drop table outcall_resolved")


def import_csv(conn, campaign_id: int, path: str, default_region: str | None, now,
               workers: int | None = None) -> ImportReport:
    header, records = csv_records(path)
    return import_records(conn, campaign_id, path, header, records, default_region, now, workers)
