"""TwilioHook: calls, balance and numbers on the `twilio_default` connection.

login = Account SID, password = Auth Token; extras `base_url` (any Twilio-compatible server),
`calls_per_second` (the account's CPS), `callback_base_url` (public URL of this Airflow API
server for status callbacks; empty = poll only) and `http_timeout` (seconds per request, 15).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from xml.sax.saxutils import quoteattr

import requests
from airflow.sdk import BaseHook
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from outcall_provider.rules.phone import mask_phone

log = logging.getLogger(__name__)
# twilio-python logs every request URL at INFO, and list URLs carry phone numbers.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

RING_TIMEOUT_S = 30      # seconds Twilio lets the phone ring
HTTP_TIMEOUT_S = 15      # one REST request
RETRIES_429 = 6          # 429 = too many concurrent requests; safe to repeat
INVALID_NUMBER_CODES = {21211, 21214, 21215, 21217, 21401, 21407, 21408, 21421, 21610, 21612, 21614, 13223, 13224}
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


class CallNotPlaced(Exception):
    """Twilio refused the call for good (e.g. an invalid number); do not retry this contact."""

    def __init__(self, code: int | None, message: str):
        super().__init__(f"Twilio {code}: {message}")
        self.code, self.message = code, message


class CallOutcomeUnknown(Exception):
    """The create request failed in a way that may or may not have placed the call (5xx,
    timeout, dropped connection). Resolve by listing before dialing again."""


@dataclass(frozen=True)
class CallInfo:
    sid: str
    to: str
    from_: str
    status: str
    answered_by: str | None
    duration_s: int | None
    price: float | None
    price_unit: str | None
    start_time: datetime | None
    end_time: datetime | None
    date_created: datetime | None


class TwilioHook(BaseHook):
    conn_name_attr = "twilio_conn_id"
    default_conn_name = "twilio_default"
    conn_type = "twilio"
    hook_name = "Twilio"

    def __init__(self, twilio_conn_id: str = default_conn_name, **kwargs):
        super().__init__(**kwargs)
        self.twilio_conn_id = twilio_conn_id
        self._client: Client | None = None
        self._extras: dict = {}
        self.account_sid = ""

    @classmethod
    def get_ui_field_behaviour(cls) -> dict:
        return {"hidden_fields": ["schema", "port", "host"],
                "relabeling": {"login": "Account SID", "password": "Auth Token"}}

    def get_conn(self) -> Client:
        if self._client is None:
            conn = self.get_connection(self.twilio_conn_id)
            self._extras = conn.extra_dejson or {}
            self.account_sid = conn.login
            timeout = float(self._extras.get("http_timeout") or HTTP_TIMEOUT_S)
            client = Client(conn.login, conn.password, http_client=TwilioHttpClient(timeout=timeout))
            base_url = (self._extras.get("base_url") or "").rstrip("/")
            if base_url:
                client.api.base_url = base_url
            self._client = client
        return self._client

    @property
    def calls_per_second(self) -> float:
        self.get_conn()
        return float(self._extras.get("calls_per_second") or 1)

    @property
    def callback_base_url(self) -> str | None:
        self.get_conn()
        return (self._extras.get("callback_base_url") or "").rstrip("/") or None

    def auth_token(self) -> str:
        return self.get_connection(self.twilio_conn_id).password

    # -- calls -----------------------------------------------------------------------------
    def place_call(self, to: str, from_: str, *, voice_url: str | None = None, stream_url: str | None = None,
                   parameters: dict | None = None) -> str:
        """Dial `to`; return the call SID. 429s are retried here; everything else is the
        caller's to resolve (CallNotPlaced: refused for good; CallOutcomeUnknown: list first)."""
        params = {k: str(v) for k, v in (parameters or {}).items()}
        kwargs: dict = {"to": to, "from_": from_, "machine_detection": "Enable", "timeout": RING_TIMEOUT_S}
        if voice_url:
            sep = "&" if "?" in voice_url else "?"
            kwargs["url"] = f"{voice_url}{sep}{urlencode(params)}" if params else voice_url
        else:
            kwargs["twiml"] = stream_twiml(stream_url, params)
        if self.callback_base_url:
            # The webhook checks the signature with this connection's auth token.
            query = "" if self.twilio_conn_id == self.default_conn_name else f"?{urlencode({'conn_id': self.twilio_conn_id})}"
            kwargs["status_callback"] = f"{self.callback_base_url}/outcall/webhooks/twilio/status{query}"
            kwargs["status_callback_event"] = STATUS_EVENTS
            kwargs["status_callback_method"] = "POST"
        try:
            call = self._with_backoff(lambda: self.get_conn().calls.create(**kwargs))
        except TwilioRestException as e:
            if e.status >= 500:
                raise CallOutcomeUnknown(f"Twilio answered {e.status} to a call to {mask_phone(to)}") from e
            if e.code in INVALID_NUMBER_CODES or e.status == 400:
                raise CallNotPlaced(e.code, e.msg) from e
            raise
        except (requests.exceptions.RequestException, TwilioException) as e:
            raise CallOutcomeUnknown(f"no answer from Twilio for a call to {mask_phone(to)}: {e}") from e
        return call.sid

    def fetch_call(self, sid: str) -> CallInfo | None:
        """The call, or None if Twilio has no call with this SID."""
        try:
            return call_info(self._with_backoff(lambda: self.get_conn().calls(sid).fetch()))
        except TwilioRestException as e:
            if e.status == 404:
                return None
            raise

    def list_calls(self, *, to: str | None = None, from_: str | None = None,
                   start_time_after: datetime | None = None, page_size: int = 1000) -> list[CallInfo]:
        """Every call matching the filters, in pages of up to 1000 (Twilio's maximum)."""
        kwargs = {k: v for k, v in {"to": to, "from_": from_, "start_time_after": start_time_after}.items() if v}
        return self._with_backoff(
            lambda: [call_info(c) for c in self.get_conn().calls.stream(page_size=page_size, **kwargs)])

    # -- account ---------------------------------------------------------------------------
    def balance(self) -> tuple[float, str]:
        b = self._with_backoff(lambda: self.get_conn().balance.fetch())
        return float(b.balance), b.currency

    def owns_number(self, phone_number: str) -> bool:
        found = self._with_backoff(lambda: self.get_conn().incoming_phone_numbers.list(phone_number=phone_number, limit=1))
        return bool(found)

    def _with_backoff(self, request):
        delay = 0.25
        for attempt in range(RETRIES_429 + 1):
            try:
                return request()
            except TwilioRestException as e:
                if e.status != 429 or attempt == RETRIES_429:
                    raise
            except TwilioException as e:  # a failed page of a list carries the response
                response = e.args[1] if len(e.args) > 1 else None
                if getattr(response, "status_code", None) != 429 or attempt == RETRIES_429:
                    raise
            log.info("Twilio answered 429 (too many concurrent requests); retrying in %.2fs", delay)
            time.sleep(delay)
            delay = min(delay * 2, 8)
        raise AssertionError("unreachable")


def stream_twiml(stream_url: str, parameters: dict) -> str:
    """<Connect><Stream> to the assistant's media stream, lead data as <Parameter>s."""
    params = "".join(f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in parameters.items())
    return f"<Response><Connect><Stream url={quoteattr(stream_url)}>{params}</Stream></Connect></Response>"


def call_info(call) -> CallInfo:
    price = float(call.price) if call.price not in (None, "") else None
    return CallInfo(
        sid=call.sid, to=call.to, from_=getattr(call, "_from", None), status=call.status,
        answered_by=call.answered_by, duration_s=int(call.duration) if call.duration not in (None, "") else None,
        price=price, price_unit=call.price_unit, start_time=call.start_time, end_time=call.end_time,
        date_created=call.date_created)
