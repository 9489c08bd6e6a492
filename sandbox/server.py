"""HTTP: Twilio's REST paths (Basic auth, form bodies, Twilio JSON) and the /_sandbox control API."""
import base64
import json
import re
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .engine import Engine, TwilioError
from .faults import Faults

ACCOUNT = r"^/2010-04-01/Accounts/(?P<account>[^/]+)"
ROUTES = [  # (method, path pattern, endpoint name used in stats and faults)
    ("POST", ACCOUNT + r"/Calls\.json$", "calls.create"),
    ("GET", ACCOUNT + r"/Calls\.json$", "calls.list"),
    ("GET", ACCOUNT + r"/Calls/(?P<sid>[^/]+)\.json$", "calls.fetch"),
    ("POST", ACCOUNT + r"/Calls/(?P<sid>[^/]+)\.json$", "calls.update"),
    ("GET", ACCOUNT + r"/Balance\.json$", "balance.fetch"),
    ("GET", ACCOUNT + r"/IncomingPhoneNumbers\.json$", "incoming_phone_numbers.list"),
    ("GET", ACCOUNT + r"\.json$", "accounts.fetch"),
]
ROUTES = [(m, re.compile(p), name) for m, p, name in ROUTES]
CALLS_LOG = re.compile(r"^/_sandbox/calls/(?P<sid>[^/]+)(?P<variables>/variables)?$")


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent dialers

    def __init__(self, address, engine: Engine, notifier):
        super().__init__(address, Handler)
        self.engine = engine
        self.notifier = notifier
        self.stopping = threading.Event()
        self.verbose = False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the twilio client reuses its connection
    # One buffered write per response and no Nagle: otherwise each request waits ~40 ms
    # for a delayed ACK between the header and body segments.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: SandboxServer

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def _handle(self, method: str):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_sandbox/"):
            return self._control(method, url.path, _query(url.query))
        self._twilio(method, url.path, url.query)

    # -- Twilio ---------------------------------------------------------------------------

    def _twilio(self, method: str, path: str, query_string: str):
        engine = self.server.engine
        faults = engine.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        name, match = "unknown", None
        for route_method, pattern, route_name in ROUTES:
            found = pattern.match(path)
            if found and route_method == method:
                name, match = route_name, found
                break
        try:
            if match is None:
                raise TwilioError(404, 20404, f"The requested resource {path} was not found")
            engine.check_account(*self._basic_auth(), match["account"])
            form = parse_qs(self.body.decode(), keep_blank_values=True) \
                if method == "POST" else {}
            with engine.lock:
                fault = faults.before(name, (form.get("To") or [""])[0]
                                      if name == "calls.create" else "")
                if fault:
                    engine.injected[fault] += 1
            if fault:
                return self._fault(name, fault, faults)
            status, body = self._route(name, match, path, query_string, form)
            if name == "calls.create":
                with engine.lock:
                    call = engine.get_call(body["sid"])
                    call.create_fault = faults.after_created(call.to, call.attempt)
                    if call.create_fault:
                        engine.injected[call.create_fault] += 1
                if call.create_fault:  # the call exists, but the client never learns its SID
                    return self._fault(name, call.create_fault, faults)
            self._json(name, status, body)
        except TwilioError as err:
            self._json(name, err.status, err.body(), auth=err.status == 401)
        except Exception:  # a sandbox bug: answer like Twilio would, and show it
            traceback.print_exc()
            self._json(name, 500, TwilioError(500, 20500, "Internal sandbox error").body())

    def _route(self, name: str, match, path: str, query_string: str, form: dict):
        engine = self.server.engine
        now = engine.clock
        per_minute = engine.config.price_per_minute
        if name == "calls.create":
            call = engine.create_call(form)
            return 201, call.to_twilio(now(), per_minute, just_created=True)
        if name == "calls.update":
            call = engine.update_call(match["sid"], form)
            return 200, call.to_twilio(now(), per_minute)
        if name == "calls.fetch":
            with engine.lock:
                return 200, engine.get_call(match["sid"]).to_twilio(now(), per_minute)
        if name == "calls.list":
            return 200, engine.list_calls(_query(query_string), path)
        if name == "balance.fetch":
            return 200, engine.balance()
        if name == "incoming_phone_numbers.list":
            return 200, engine.incoming_numbers(_query(query_string), path)
        return 200, engine.account()

    def _basic_auth(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None, None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None, None
        return user, password

    def _fault(self, name: str, fault: str, faults: Faults):
        if "timeout" in fault:
            # Hang past the client's timeout, then drop the connection without an answer.
            self.server.stopping.wait(faults.timeout_seconds)
            self.server.engine.count(name, 0)
            self.close_connection = True
            return
        if fault == "status_429":
            err = TwilioError(429, 20429, "Too Many Requests")
        else:
            err = TwilioError(500, 20500, "An internal server error has occurred")
        self._json(name, err.status, err.body(), retry_after=fault == "status_429")

    # -- control API ----------------------------------------------------------------------

    def _control(self, method: str, path: str, query: dict):
        engine = self.server.engine
        name = "control"
        try:
            if path == "/_sandbox/faults" and method == "POST":
                engine.faults = Faults.from_json(json.loads(self.body or b"{}"))
                return self._json(name, 200, engine.faults.view())
            if path == "/_sandbox/faults" and method == "GET":
                return self._json(name, 200, engine.faults.view())
            if path == "/_sandbox/reset" and method == "POST":
                engine.reset()
                self.server.notifier.clear()
                return self._json(name, 200, {"reset": True})
            if path == "/_sandbox/stats" and method == "GET":
                return self._json(name, 200, engine.stats())
            if path == "/_sandbox/calls" and method == "GET":
                return self._json(name, 200, {"calls": engine.log(query.get("to"))})
            match = CALLS_LOG.match(path)
            if match and method == "GET":
                with engine.lock:
                    call = engine.get_call(match["sid"])
                    entry = call.to_log(engine.clock(), engine.config.price_per_minute)
                if match["variables"]:
                    pending = call.variables_at is not None and entry["variables"] is None
                    entry = {"call_sid": call.sid, "variables": entry["variables"],
                             "state": "pending" if pending else
                             ("ready" if entry["variables"] else "none"),
                             "available_at": entry["variables_at"]}
                return self._json(name, 200, entry)
            raise TwilioError(404, 20404, f"The requested resource {path} was not found")
        except TwilioError as err:
            self._json(name, err.status, err.body())
        except (ValueError, TypeError) as err:
            self._json(name, 400, {"message": str(err), "status": 400})

    def _json(self, name: str, status: int, body, auth=False, retry_after=False):
        data = json.dumps(body).encode()
        if name != "control":  # counted before the client can read the answer and ask for stats
            self.server.engine.count(name, status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if auth:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        if retry_after:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)


def _query(query_string: str) -> dict:
    return {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}

