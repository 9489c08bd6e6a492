"""Outbound traffic: Twilio status callbacks and the assistant's post-call results.

One scheduler thread keeps a heap of due events; a pool of senders delivers them, one request
per event as Twilio sends them: the calls' callbacks go out side by side (a receiver that takes
100 ms slows each request, not every call queued behind it), and one call's callbacks one at a
time, in due order. Callback faults (late, twice, out of order, never, no
AnsweredBy) are drawn when a call's events are scheduled, so they are seeded per call.
"""
import base64
import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional
from urllib.parse import urlencode

from .calls import API_VERSION, Call, iso, rfc2822
from .engine import Engine
from .faults import chance

EVENT_STATUS = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}
SIP_CODES = {"completed": 200, "busy": 486, "no-answer": 487, "canceled": 487, "failed": 500}


def twilio_signature(auth_token: str, url: str, params: dict) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each sorted key+value."""
    payload = url + "".join(k + str(params[k]) for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def outcall_signature(secret: str, body: bytes) -> str:
    """X-Outcall-Signature: 'sha256=' + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, engine: Engine, assistant_results_url: Optional[str] = None,
                 assistant_secret: Optional[str] = None,
                 on_variables: Optional[Callable[[str, dict], None]] = None, senders: int = 64):
        self.engine = engine
        self.assistant_results_url = assistant_results_url
        self.assistant_secret = assistant_secret
        self.on_variables = on_variables
        self.heap: list = []
        self.order = itertools.count()
        self.cond = threading.Condition()
        self.stopping = False
        self.senders = ThreadPoolExecutor(senders, "sandbox-notify")  # threads start as needed
        self.sending: dict[str, deque] = {}  # call SID -> its events waiting behind the one being sent
        self.sending_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="sandbox-scheduler", daemon=True)
        engine.schedule = self.schedule_call

    def start(self):
        self.thread.start()

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify()
        self.thread.join(timeout=5)
        self.senders.shutdown(wait=False, cancel_futures=True)

    def clear(self):
        with self.cond:
            self.heap.clear()

    def schedule_call(self, call: Call):
        """Queue what this call will send from now on (called under the engine lock)."""
        entries = self._status_entries(call) if call.status_callback else []
        if call.variables_at is not None:
            entries.append({"due": call.variables_at, "sid": call.sid, "gen": call.gen,
                            "kind": "variables"})
        self.engine.pending += len(entries)
        with self.cond:
            for entry in entries:
                heapq.heappush(self.heap, (entry["due"], next(self.order), entry))
            self.cond.notify()

    def _status_entries(self, call: Call) -> list:
        """One delivery per requested event, in firing order, each with its SequenceNumber
        and the callback faults drawn for it (see faults.py)."""
        if call.gen == 0:
            fired = []
            if call.started:
                fired.append((call.start_at, "initiated"))
                if call.plan.status != "failed":
                    fired.append((call.start_at, "ringing"))
                if call.answer_at is not None:
                    fired.append((call.answer_at, "answered"))
            fired.append((call.end_at, "completed"))
            call.status_events = [(at, kind) for at, kind in fired if kind in call.events]
            first, news = 0, call.status_events
        else:  # an update ended the call: what fired before stays, the new ending is news
            kept = [(at, kind) for at, kind in call.status_events
                    if at <= call.cut_at and kind != "completed"]
            news = [(call.end_at, "completed")] if "completed" in call.events else []
            call.status_events = kept + news
            first = len(kept)
        faults = self.engine.faults
        entries, next_due = [], None
        for i in reversed(range(len(news))):  # backwards: out-of-order needs the next due
            at, kind = news[i]
            key = (call.to, call.attempt, kind, call.gen)
            entry = {"sid": call.sid, "gen": call.gen, "kind": kind, "at": at,
                     "seq": first + i, "faults": [], "delay_s": 0.0, "due": at}
            if faults.hit("callback_drop", *key):
                entry["faults"] = ["drop"]
            else:
                if faults.hit("callback_delay", *key):
                    entry["delay_s"] = max(0.001, round(chance(faults.seed, "delay_s", *key)
                                                        * faults.callback_delay_max_s, 3))
                    entry["faults"].append("delay")
                if next_due is not None and faults.hit("callback_out_of_order", *key):
                    entry["due"] = next_due + 0.02  # an older event after a newer one
                    entry["faults"].append("out_of_order")
                entry["due"] += entry["delay_s"]
                if faults.hit("callback_no_answered_by", *key):
                    entry["omit_answered_by"] = True
                if faults.hit("callback_duplicate", *key):
                    gap = 0.05 + chance(faults.seed, "duplicate_s", *key) * max(
                        0.2, faults.callback_delay_max_s)
                    entries.append(dict(entry, faults=["duplicate"], due=entry["due"] + gap,
                                        delay_s=0.0))
                next_due = max(entry["due"], next_due or 0)
            entries.append(entry)
        return entries[::-1]  # firing order: ties in `due` are delivered as pushed

    def _run(self):
        clock = self.engine.clock
        while True:
            with self.cond:
                while not self.stopping and (not self.heap or self.heap[0][0] > clock()):
                    wait = self.heap[0][0] - clock() if self.heap else None
                    self.cond.wait(timeout=None if wait is None else min(wait, 0.5))
                if self.stopping:
                    return
                _, _, entry = heapq.heappop(self.heap)
            with self.sending_lock:
                waiting = self.sending.get(entry["sid"])
                if waiting is not None:  # this call's earlier event is being sent: after it
                    waiting.append(entry)
                    continue
                self.sending[entry["sid"]] = deque()
            try:
                self.senders.submit(self._send_in_order, entry)
            except RuntimeError:  # shutting down
                return

    def _send_in_order(self, entry: dict):
        """Deliver `entry`, then the events of its call that fell due meanwhile, in due order."""
        while True:
            self._deliver(entry)
            with self.sending_lock:
                waiting = self.sending[entry["sid"]]
                if not waiting:
                    del self.sending[entry["sid"]]
                    return
                entry = waiting.popleft()

    def _deliver(self, entry: dict):
        try:
            self._deliver_one(entry)
        finally:
            with self.engine.lock:
                self.engine.pending = max(0, self.engine.pending - 1)

    def _deliver_one(self, entry: dict):
        kind = entry["kind"]
        with self.engine.lock:
            call = self.engine.by_sid.get(entry["sid"])
            if call is None:
                return  # reset
            if entry["gen"] != call.gen and (kind == "variables" or entry["at"] > call.cut_at):
                return  # an update ended the call before this event would have fired
            if kind == "variables":
                payload = {"call_sid": call.sid, "variables": dict(call.variables)}
            elif "drop" in entry["faults"]:
                self.engine.injected["callback_drop"] += 1
                return self._record(call, self._log_entry(call, entry, "dropped"), None)
            else:
                url, method, params = self._status_callback(call, entry)
        if kind == "variables":
            self._send_variables(call, payload)
        else:
            self._send_status(call, entry, url, method, params)

    def _status_callback(self, call: Call, entry: dict):
        """Twilio's call-progress params for the event, as of the event's moment
        (called under the engine lock)."""
        kind = entry["kind"]
        status = EVENT_STATUS.get(kind, call.final_status)
        params = {
            "AccountSid": call.account_sid, "ApiVersion": API_VERSION, "CallSid": call.sid,
            "CallStatus": status, "CallbackSource": "call-progress-events",
            "Called": call.to, "Caller": call.from_, "Direction": "outbound-api",
            "From": call.from_, "To": call.to,
            "SequenceNumber": str(entry["seq"]), "Timestamp": rfc2822(entry["at"]),
        }
        amd = call.plan.answered_by and call.answer_at is not None
        if amd and kind in ("answered", "completed"):
            if entry.get("omit_answered_by"):
                if "duplicate" not in entry["faults"]:
                    self.engine.injected["callback_no_answered_by"] += 1
            else:
                params["AnsweredBy"] = call.plan.answered_by
        if kind == "completed":
            duration = call.talk_s if call.answer_at is not None else 0
            params["CallDuration"] = str(duration)
            params["Duration"] = str(-(-duration // 60))  # minutes, rounded up
            params["SipResponseCode"] = str(SIP_CODES[call.final_status])
        for name in entry["faults"]:
            self.engine.injected["callback_" + name] += 1
        return call.status_callback, call.status_callback_method, params

    def _log_entry(self, call: Call, entry: dict, result) -> dict:
        status = EVENT_STATUS.get(entry["kind"], call.final_status)
        return {"event": entry["kind"], "status": status,
                "sequence_number": entry["seq"], "url": call.status_callback, "result": result,
                "event_at": iso(entry["at"]), "faults": list(entry["faults"]),
                "delay_s": entry["delay_s"]}

    def _send_status(self, call: Call, entry: dict, url: str, method: str, params: dict):
        token = self.engine.config.auth_token
        if method == "GET":
            url = url + ("&" if "?" in url else "?") + urlencode(params)
            signature, data = twilio_signature(token, url, {}), None
        else:
            signature, data = twilio_signature(token, url, params), urlencode(params).encode()
        headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        sent = time.monotonic()
        result = _http(url, method, data, headers)
        logged = dict(self._log_entry(call, entry, result), url=url)
        logged["delivered_after_s"] = round(self.engine.clock() - entry["at"], 3)
        logged["took_s"] = round(time.monotonic() - sent, 3)  # the receiver's answer
        self._record(call, logged, "status_callback")

    def _send_variables(self, call: Call, payload: dict):
        if self.on_variables:
            try:
                self.on_variables(call.sid, payload["variables"])
                self._record(call, {"event": "variables", "url": "hook", "result": "ok"},
                             "assistant_hook")
            except Exception as exc:  # the hook is the embedder's code; keep the sandbox alive
                self._record(call, {"event": "variables", "url": "hook", "result": repr(exc)},
                             "assistant_hook")
        if self.assistant_results_url:
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json"}
            if self.assistant_secret:
                headers["X-Outcall-Signature"] = outcall_signature(self.assistant_secret, body)
            result = _http(self.assistant_results_url, "POST", body, headers)
            self._record(call, {"event": "variables", "url": self.assistant_results_url,
                                "result": result}, "assistant_post")

    def _record(self, call: Call, entry: dict, counter: Optional[str]):
        with self.engine.lock:
            entry["at"] = iso(self.engine.clock())
            call.callbacks.append(entry)
            if counter:
                ok = isinstance(entry["result"], int) and entry["result"] < 400 \
                    or entry["result"] == "ok"
                self.engine.callback_results[f"{counter} {'ok' if ok else 'failed'}"] += 1

def _http(url: str, method: str, data: Optional[bytes], headers: dict):
    """The receiver's HTTP status, or the error text when it could not be reached."""
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except Exception as exc:
        return f"error: {exc}"
