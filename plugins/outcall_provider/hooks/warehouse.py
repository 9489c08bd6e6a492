"""Leads from a query on any SQL connection of Airflow (a DbApiHook), streamed in chunks so
memory stays flat whatever the table size, with a fingerprint of what was read."""
from __future__ import annotations

import hashlib
from typing import Iterator

SQL_FETCH_ROWS = 5_000  # rows per fetchmany


class WarehouseRows:
    """`with WarehouseRows(conn_id, sql, where) as rows:` then `rows.header`, `rows.records()`
    (line, values) as a CSV would number them, and `rows.fingerprint` once read."""

    def __init__(self, conn_id: str, sql: str, where: str):
        self.conn_id, self.sql, self.where = conn_id, sql, where
        self._digest = hashlib.sha256(sql.encode())
        self._conn = self._cursor = None
        self.header: list[str] = []

    def __enter__(self) -> WarehouseRows:
        from airflow.providers.common.sql.hooks.sql import DbApiHook
        from airflow.sdk import BaseHook

        hook = BaseHook.get_connection(self.conn_id).get_hook()
        if not isinstance(hook, DbApiHook):
            raise TypeError(f"{self.where}: leads.conn_id: connection {self.conn_id!r} is not a SQL database "
                            f"connection (its hook {type(hook).__name__} is not a DbApiHook)")
        self._conn = hook.get_conn()
        self._cursor = self._conn.cursor()
        self._cursor.execute(self.sql)
        self.header = [d[0] for d in self._cursor.description]
        return self

    def records(self) -> Iterator[tuple[int, list[str]]]:
        line = 1  # the header's line, as a CSV would have it
        while rows := self._cursor.fetchmany(SQL_FETCH_ROWS):
            for row in rows:
                line += 1
                values = ["" if v is None else str(v) for v in row]
                self._digest.update("\x1f".join(values).encode("utf-8", "surrogateescape"))
                yield line, values

    @property
    def fingerprint(self) -> str:
        return "sql:" + self._digest.hexdigest()

    def __exit__(self, *exc) -> None:
        if self._conn is not None:
            self._conn.close()
