"""Wake a dialer the moment a status callback says one of its campaign's calls ended.

The webhook, in the API server, writes the callback to the store and sends a PostgreSQL NOTIFY
on CALL_ENDED_CHANNEL with the campaign id (webhook_attempt_status.sql, sent on commit). Every
dialer of a process shares one LISTEN connection per store: a triggerer dialing a hundred
campaigns holds one, not a hundred. A notification can be missed (the listener reconnecting,
a call ending just before a dialer starts to wait), so waits are short and the dialer looks
at the store after each one, woken or not.
"""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Callable

log = logging.getLogger(__name__)

CALL_ENDED_CHANNEL = "outcall_call_ended"
RECONNECT_SECONDS = 1.0


class CallEnds:
    """Counts the call ends announced per campaign; `wait` returns when the count moves."""

    _by_store: dict[str, "CallEnds"] = {}
    _registry_lock = threading.Lock()

    def __init__(self, connect: Callable[[], object], name: str):
        self._connect, self._name = connect, name
        self._lock = threading.Lock()
        # one condition per campaign: a call's end wakes that campaign's dialers, not every
        # dialer of the process (a hundred threads woken for each call cost more than the call)
        self._conds: dict[int, threading.Condition] = defaultdict(lambda: threading.Condition(self._lock))
        self._ended: dict[int, int] = defaultdict(int)
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name=f"outcall-call-ends-{name}", daemon=True)
        self._thread.start()

    @classmethod
    def of_store(cls, conn_id: str, connect: Callable[[], object]) -> "CallEnds":
        """The process's listener on this store (started on first use)."""
        with cls._registry_lock:
            if conn_id not in cls._by_store:
                cls._by_store[conn_id] = cls(connect, conn_id)
            return cls._by_store[conn_id]

    def wait(self, campaign_id: int, timeout: float) -> bool:
        """Wait until a call of the campaign ends, at most `timeout` s; True if one did."""
        with self._lock:
            seen = self._ended[campaign_id]
            return self._conds[campaign_id].wait_for(lambda: self._ended[campaign_id] != seen, timeout)

    def listening(self, timeout: float = 10) -> bool:
        """True once the LISTEN is in place (tests wait for it before sending callbacks)."""
        return self._listening.wait(timeout)

    def _listen(self) -> None:
        while True:
            try:
                conn = self._connect()
                conn.autocommit = True
                with conn:
                    conn.execute(f"listen {CALL_ENDED_CHANNEL}")
                    self._listening.set()
                    for note in conn.notifies():
                        self._ended_call(note.payload)
            except Exception as e:  # the store restarted, a network blip: listen again
                log.warning("listening for call ends on store %s failed (%s: %s); listening again in %.0f s",
                            self._name, type(e).__name__, e, RECONNECT_SECONDS)
            self._listening.clear()
            threading.Event().wait(RECONNECT_SECONDS)

    def _ended_call(self, payload: str) -> None:
        try:
            campaign_id = int(payload)
        except ValueError:
            return
        with self._lock:
            self._ended[campaign_id] += 1
            if campaign_id in self._conds:
                self._conds[campaign_id].notify_all()
