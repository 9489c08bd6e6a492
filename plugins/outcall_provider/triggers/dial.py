"""DialTrigger: a campaign's dialer runs its tick in Airflow's triggerer, not in a worker slot.

Waiting is most of a dialer's time: for a line to free up, a lead to fall due, the DAG to be
unpaused, the calling window to open. A task resumed for each of those would pay a worker's
task start-up (seconds of CPU) per call. So the trigger places the next call itself, with
the same engine and the same store as a task would: attempt written first, paced by the
store's calls-per-second slots, never more than max_calls_in_parallel (engine/keep_dialing.py).

The engine is blocking code (psycopg, twilio-python), so each trigger runs it in a thread of
its own; the triggerer's event loop only awaits the thread. A status callback wakes the thread
at once (hooks/call_ends.py, one LISTEN per store for the whole triggerer). The DAG's pause
toggle is asked of the API server (api/dialer_access.py), for every dialing DAG at once, at
most every PAUSE_ASK_SECONDS: pausing stops new calls within seconds.

The trigger ends the dial task itself (TaskSuccessEvent with the tick's dial report as its
XCom, TaskSkippedEvent, TaskFailedEvent): no worker start at the end of a tick either, when a
hundred campaigns' ticks end at once.

Cancelled (the task cleared or failed, the triggerer stopping), the thread is told to stop and
releases the leads it claimed; a trigger run again elsewhere starts from the store.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

log = logging.getLogger(__name__)

DIAL_PAST_TICK = 2  # ticks a dialer may go on past its own while the next tick's is late
PAUSE_ASK_SECONDS = 2.0
# An answer older than this counts as unknown, i.e. paused: an API server that stopped answering
# must not keep dialers calling on what it said a while ago.
PAUSE_ANSWER_MAX_AGE_SECONDS = 30.0
STOP_GRACE_SECONDS = 30.0  # a cancelled dialer finishes the call it is placing and releases its leads


class DialTrigger(BaseTrigger):
    """Dial `campaign_name` for the tick of the DAG run started at `run_started` (ISO, Airflow's
    clock) until the next tick's dialer takes over, or at most DIAL_PAST_TICK ticks more; then
    end the task: success with the summed dial report, skipped when the tick placed no call
    and the window is closed (rules/describe.no_call_this_tick), failed with the error (and
    retried as any task is).

    A single-dialer campaign's dial task starts here, not in a worker (`start_from_trigger`):
    its kwargs are then rendered by the triggerer, `run_started` from the run's template context."""

    def __init__(self, *, campaign_name: str, dag_id: str, tick_seconds: float, run_started: str,
                 total: dict[str, int] | None = None):
        super().__init__()
        self.campaign_name, self.dag_id, self.total = campaign_name, dag_id, total or {}
        self.tick_seconds, self.run_started = tick_seconds, run_started

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"campaign_name": self.campaign_name, "dag_id": self.dag_id, "tick_seconds": self.tick_seconds,
                 "run_started": self.run_started, "total": self.total})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        stop = threading.Event()

        def settle(result=None, error: BaseException | None = None) -> None:
            if not done.done():
                done.set_exception(error) if error is not None else done.set_result(result)

        def work() -> None:
            try:
                result = self._dial(stop)
            except BaseException as e:  # handed to the event loop, which reports it
                loop.call_soon_threadsafe(settle, None, e)
            else:
                loop.call_soon_threadsafe(settle, result)

        context = contextvars.copy_context()  # the thread logs into this trigger's log
        thread = threading.Thread(target=context.run, args=(work,), name=f"outcall-dial-{self.campaign_name}",
                                  daemon=True)
        thread.start()
        try:
            total, skipped = await asyncio.shield(done)
        except asyncio.CancelledError:
            stop.set()
            await asyncio.to_thread(thread.join, STOP_GRACE_SECONDS)
            raise
        except Exception as e:
            from outcall_provider.rules.phone import mask_phones_in_text

            log.error("campaign %s: the dialer stopped: %s: %s", self.campaign_name, type(e).__name__,
                      mask_phones_in_text(str(e)))
            yield TaskFailedEvent()
            return
        log.info("dialed %s", total)
        if skipped:
            log.info("skipped: %s", skipped)
            yield TaskSkippedEvent()
        else:
            yield TaskSuccessEvent(xcoms={"return_value": total})

    def _dial(self, stop: threading.Event) -> tuple[dict[str, int], str | None]:
        """The tick's summed dial report, and why the task is skipped (None: it is not)."""
        # Imported here: the triggerer loads this module to rebuild the trigger; drivers load
        # only when a dialer runs.
        from outcall_provider.engine import campaign_engine
        from outcall_provider.engine.keep_dialing import keep_dialing
        from outcall_provider.rules.describe import no_call_this_tick

        engine = campaign_engine(self.campaign_name, listen=True, sleep=stop.wait)
        try:
            tick_ends, dial_until = tick_deadlines(self.tick_seconds, datetime.fromisoformat(self.run_started))
            with PAUSED.watching(self.dag_id):
                total = keep_dialing(engine, [], tick_ends, dial_until=dial_until,
                                     paused=lambda: PAUSED.paused(self.dag_id), stopped=stop.is_set,
                                     total=self.total)
            return total, no_call_this_tick(engine.campaign, total.get("placed", 0), engine.clock())
        finally:
            engine.store.close()


def tick_deadlines(tick_seconds: float, run_started: datetime) -> tuple[datetime, datetime]:
    """When the tick of a run started at `run_started` ends (the next one is due), and the
    latest its dialer may dial, on outcall's clock. The tick runs on Airflow's clock, so the
    time it has left is carried over: the two differ in a replay (clock.py), and a deadline
    mixed from both would end dialing at once or never. A tick's dialer goes on until the
    next tick's takes over; at most DIAL_PAST_TICK ticks more (the next tick is late: a busy
    Airflow runs many campaigns' first steps before it; or the DAG was paused and no tick comes)."""
    from outcall_provider import clock

    used = datetime.now(timezone.utc) - run_started
    tick_ends = clock.now() + timedelta(seconds=tick_seconds) - used
    return tick_ends, tick_ends + DIAL_PAST_TICK * timedelta(seconds=tick_seconds)


class PausedBoard:
    """The pause toggles of the DAGs this process dials for, asked of the API server in one
    request for all of them, at most every PAUSE_ASK_SECONDS. Until an answer comes, once the
    last answer is older than PAUSE_ANSWER_MAX_AGE_SECONDS, and for a DAG Airflow no longer has,
    a DAG counts as paused: no call is made on a guess."""

    def __init__(self):
        self._lock = threading.Lock()
        self._watched: Counter[str] = Counter()
        self._paused: dict[str, bool] = {}
        self._answered_at: dict[str, float] = {}  # when the question behind each answer was asked
        self._asked_at = float("-inf")
        self._asking = False  # one question at a time, asked outside the lock
        self._warned_at = float("-inf")
        self._client = None  # one HTTP client, kept: each new one builds an SSL context and a connection

    @contextmanager
    def watching(self, dag_id: str):
        """While the block runs, `dag_id` is asked about with the others."""
        with self._lock:
            self._watched[dag_id] += 1
            self._asked_at = float("-inf")  # a newcomer gets a fresh answer
        try:
            yield
        finally:
            with self._lock:
                self._watched[dag_id] -= 1
                if self._watched[dag_id] <= 0:
                    del self._watched[dag_id]
                    self._paused.pop(dag_id, None)
                    self._answered_at.pop(dag_id, None)

    def paused(self, dag_id: str) -> bool:
        """One dialer asks, without holding the others: they go on with the last answer (a busy
        API server may take seconds, and every dialer asks before each call)."""
        with self._lock:
            ask = time.monotonic() - self._asked_at >= PAUSE_ASK_SECONDS and not self._asking
            if ask:
                self._asked_at, self._asking = time.monotonic(), True
                dag_ids = sorted(self._watched or {dag_id: 1})
        if ask:
            answer, asked_at = None, time.monotonic()
            try:
                answer = self._ask(dag_ids)
            finally:
                with self._lock:
                    self._asking = False
                    if answer is not None:
                        self._paused.update(answer)
                        self._answered_at.update(dict.fromkeys(answer, asked_at))
        with self._lock:
            fresh = time.monotonic() - self._answered_at.get(dag_id, float("-inf")) <= PAUSE_ANSWER_MAX_AGE_SECONDS
            return self._paused.get(dag_id, True) if fresh else True

    def _ask(self, dag_ids: list[str]) -> dict[str, bool] | None:
        import httpx

        from outcall_provider import dialer_token

        try:
            if self._client is None:
                self._client = httpx.Client(timeout=5)
            response = self._client.get(f"{api_server_url()}{dialer_token.PAUSED_PATH}", params={"dag_id": dag_ids},
                                        headers={"Authorization": f"Bearer {dialer_token.sign()}"})
            response.raise_for_status()
            answer = response.json()
        except Exception as e:  # keep what was known; say why, not on every ask
            if time.monotonic() - self._warned_at >= 30:
                self._warned_at = time.monotonic()
                log.error("cannot ask the API server whether DAGs %s are paused (%s: %s); until it answers, "
                          "DAGs never answered, or answered over %.0f s ago, count as paused",
                          ", ".join(dag_ids), type(e).__name__, e, PAUSE_ANSWER_MAX_AGE_SECONDS)
            return None
        return {d: bool(answer.get(d, True)) for d in dag_ids}


def api_server_url() -> str:
    """The API server as Airflow's own components reach it: the execution API's address
    without its path ([core] execution_api_server_url), else [api] base_url."""
    from airflow.configuration import conf

    execution = conf.get("core", "execution_api_server_url", fallback="") or ""
    if execution:
        return execution.rstrip("/").removesuffix("/execution")
    return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


PAUSED = PausedBoard()
