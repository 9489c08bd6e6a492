"""Helpers shared by the sandbox tests: a webhook receiver, the control API, polling."""
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from twilio.rest import Client

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the sandbox package lives at the repo root

from sandbox import DEFAULT_NUMBER  # noqa: E402

FROM = DEFAULT_NUMBER
VOICE = "https://assistant.example.com/voice"
FAST = 600  # time scale: a 3-minute call lasts 0.3 s
ENDED = {"completed", "busy", "no-answer", "failed", "canceled"}


class Receiver:
    """A tiny local webhook receiver that records every request (with its arrival time) and
    answers it after `delay` seconds."""

    def __init__(self, delay: float = 0.0):
        self.requests = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.cond:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body, "at": time.time()})
                    receiver.cond.notify_all()
                time.sleep(delay)
                self.send_response(204)
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def wait_for(self, n, timeout=5.0):
        with self.cond:
            self.cond.wait_for(lambda: len(self.requests) >= n, timeout)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def twilio_client(sandbox, **http_options):
    """Exactly what outcall does: a stock Client with the api domain's base_url replaced."""
    client = Client(sandbox.account_sid, sandbox.auth_token)
    client.api.base_url = sandbox.url
    if http_options:
        client.http_client.timeout = http_options["timeout"]
    return client


def control(sandbox, method, path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(sandbox.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def wait_until(predicate, timeout=5.0, every=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def wait_ended(client, sid, timeout=5.0):
    return wait_until(lambda: (c := client.calls(sid).fetch()).status in ENDED and c, timeout)
