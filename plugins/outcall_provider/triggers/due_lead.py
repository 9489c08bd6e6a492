"""LeadDueTrigger: an idle dialer waits in the triggerer, not in a worker slot, until one of its
campaign's waiting leads falls due (added, uploaded or set back to `created` by a person) or
its tick ends."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, AsyncIterator

from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from outcall_provider import clock, sql

LEAD_DUE = "lead_due"
TICK_ENDS = "tick_ends"
POLL_SECONDS = 5.0  # one index lookup per poll; a lead is dialed this long after it falls due, at most


class LeadDueTrigger(BaseTrigger):
    """`gate`: the compliance gate's next_due_filter (times as ISO strings), so that a lead held
    back by its callee's hours wakes the dialer when those hours open, not at once."""

    def __init__(self, *, db_conn_id: str, campaign_id: int, deadline: str, poll_seconds: float = POLL_SECONDS,
                 gate: dict[str, Any] | None = None):
        super().__init__()
        self.db_conn_id, self.campaign_id, self.deadline = db_conn_id, campaign_id, deadline
        self.poll_seconds, self.gate = poll_seconds, gate

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"db_conn_id": self.db_conn_id, "campaign_id": self.campaign_id, "deadline": self.deadline,
                 "poll_seconds": self.poll_seconds, "gate": self.gate})

    def _query(self) -> tuple[str, dict[str, Any]]:
        if self.gate is None:
            return sql.query("lead_next_due"), {"campaign_id": self.campaign_id}
        opens_at = [datetime.fromisoformat(t) for t in self.gate["opens_at"]]
        return sql.query("lead_next_due_gated"), {"campaign_id": self.campaign_id, **self.gate, "opens_at": opens_at}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import psycopg  # here, not at DAG parse time

        deadline = datetime.fromisoformat(self.deadline)
        conn = await BaseHook.aget_connection(self.db_conn_id)
        query, params = self._query()
        async with await psycopg.AsyncConnection.connect(**_libpq(conn), autocommit=True) as db:
            while True:
                now = clock.now()
                async with db.cursor() as cur:
                    await cur.execute(query, params)
                    (next_due,) = await cur.fetchone()
                if next_due is not None and next_due <= now:
                    yield TriggerEvent({"reason": LEAD_DUE, "due_at": next_due.isoformat()})
                    return
                if now >= deadline:
                    yield TriggerEvent({"reason": TICK_ENDS})
                    return
                await asyncio.sleep(min(self.poll_seconds, (deadline - now).total_seconds()))


def _libpq(conn) -> dict[str, Any]:
    """libpq keywords of an Airflow postgres connection (as PostgresHook reads them)."""
    params = {"host": conn.host, "port": conn.port or 5432, "user": conn.login, "password": conn.password,
              "dbname": conn.schema or None}
    sslmode = (conn.extra_dejson or {}).get("sslmode")
    if sslmode:
        params["sslmode"] = sslmode
    return {k: v for k, v in params.items() if v is not None}
