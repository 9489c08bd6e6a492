"""Outbound traffic: Twilio status callbacks and the assistant's post-call results.

One scheduler thread keeps a heap of due events; delivery runs on a few single-thread
executors, sharded by call SID, so one call's callbacks arrive in order and a slow receiver
does not stall the others.
"""
import base64
import hashlib
import heapq
import hmac
import itertools
import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional
from urllib.parse import urlencode

from .calls import API_VERSION, Call, iso, rfc2822
from .engine import Engine

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
                 on_variables: Optional[Callable[[str, dict], None]] = None, shards: int = 8):
        self.engine = engine
        self.assistant_results_url = assistant_results_url
        self.assistant_secret = assistant_secret
        self.on_variables = on_variables
        self.heap: list = []
        self.order = itertools.count()
        self.cond = threading.Condition()
        self.stopping = False
        self.senders = [ThreadPoolExecutor(1, f"sandbox-notify-{i}") for i in range(shards)]
        self.thread = threading.Thread(target=self._run, name="sandbox-scheduler", daemon=True)
        engine.schedule = self.schedule_call

    def start(self):
        self.thread.start()

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify()
        self.thread.join(timeout=5)
        for sender in self.senders:
            sender.shutdown(wait=False, cancel_futures=True)

    def clear(self):
        with self.cond:
            self.heap.clear()

    def schedule_call(self, call: Call):
        """Queue what this call will send from now on (called under the engine lock)."""
        due = []
        if call.status_callback:
            if call.started:
                due += [(call.start_at, "initiated")]
                if call.plan.status != "failed":
                    due += [(call.start_at, "ringing")]
                if call.answer_at is not None:
                    due += [(call.answer_at, "answered")]
            due += [(call.end_at, "completed")]
            if call.gen:  # after an update only the new ending is news
                due = [(call.end_at, "completed")]
            due = [(t, kind) for t, kind in due if kind in call.events]
        if call.variables_at is not None:
            due.append((call.variables_at, "variables"))
        with self.cond:
            for at, kind in due:
                heapq.heappush(self.heap, (at, next(self.order), call.sid, call.gen, kind))
            self.cond.notify()

    def _run(self):
        clock = self.engine.clock
        while True:
            with self.cond:
                while not self.stopping and (not self.heap or self.heap[0][0] > clock()):
                    wait = self.heap[0][0] - clock() if self.heap else None
                    self.cond.wait(timeout=None if wait is None else min(wait, 0.5))
                if self.stopping:
                    return
                _, _, sid, gen, kind = heapq.heappop(self.heap)
            shard = self.senders[hash(sid) % len(self.senders)]
            try:
                shard.submit(self._deliver, sid, gen, kind)
            except RuntimeError:  # shutting down
                return

    def _deliver(self, sid: str, gen: int, kind: str):
        with self.engine.lock:
            call = self.engine.by_sid.get(sid)
            if call is None or call.gen != gen:
                return  # reset, or the call was updated since this was scheduled
            if kind == "variables":
                payload = {"call_sid": sid, "variables": dict(call.variables)}
            else:
                url, method, params = self._status_callback(call, kind)
        if kind == "variables":
            self._send_variables(call, payload)
        else:
            self._send_status(call, kind, url, method, params)

    def _status_callback(self, call: Call, kind: str):
        """Twilio's call-progress params for `kind`, as of the event's moment."""
        at = {"initiated": call.start_at, "ringing": call.start_at,
              "answered": call.answer_at, "completed": call.end_at}[kind]
        status = EVENT_STATUS.get(kind, call.final_status)
        params = {
            "AccountSid": call.account_sid, "ApiVersion": API_VERSION, "CallSid": call.sid,
            "CallStatus": status, "CallbackSource": "call-progress-events",
            "Called": call.to, "Caller": call.from_, "Direction": "outbound-api",
            "From": call.from_, "To": call.to,
            "SequenceNumber": str(call.sequence_number), "Timestamp": rfc2822(at),
        }
        call.sequence_number += 1
        if call.plan.answered_by and call.answer_at is not None and kind in ("answered", "completed"):
            params["AnsweredBy"] = call.plan.answered_by
        if kind == "completed":
            duration = call.talk_s if call.answer_at is not None else 0
            params["CallDuration"] = str(duration)
            params["Duration"] = str(-(-duration // 60))  # minutes, rounded up
            params["SipResponseCode"] = str(SIP_CODES[call.final_status])
        return call.status_callback, call.status_callback_method, params

    def _send_status(self, call: Call, kind: str, url: str, method: str, params: dict):
        token = self.engine.config.auth_token
        if method == "GET":
            url = url + ("&" if "?" in url else "?") + urlencode(params)
            signature, data = twilio_signature(token, url, {}), None
        else:
            signature, data = twilio_signature(token, url, params), urlencode(params).encode()
        headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        result = _http(url, method, data, headers)
        self._record(call, {"event": kind, "status": params["CallStatus"], "url": url,
                            "result": result}, "status_callback")

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

    def _record(self, call: Call, entry: dict, counter: str):
        with self.engine.lock:
            entry["at"] = iso(self.engine.clock())
            call.callbacks.append(entry)
            ok = isinstance(entry["result"], int) and entry["result"] < 400 or entry["result"] == "ok"
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
