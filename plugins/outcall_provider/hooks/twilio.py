"""TwilioHook: calls, balance and numbers on the `twilio_default` connection.

login = Account SID, password = Auth Token; extras `base_url` (any Twilio-compatible server),
`calls_per_second` (the account's CPS), `callback_base_url` (public URL of this Airflow API
server for status callbacks; empty = poll only), `min_balance` (the preflight's balance floor)
and `http_timeout` (seconds per request). Their defaults are the DEFAULT_* constants below;
provider_info.py shows the same ones in the connection form (both from hooks/twilio_extras.py).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlencode

import requests
from airflow.sdk import BaseHook
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from outcall_provider.exceptions import CallNotPlaced, CallOutcomeUnknown, TwilioAccountError
from outcall_provider.hooks.twilio_extras import (
    DEFAULT_BASE_URL,
    DEFAULT_CALLS_PER_SECOND,
    DEFAULT_MIN_BALANCE,
    HTTP_TIMEOUT_S,
)
from outcall_provider.rules.phone import mask_phone
from outcall_provider.rules.preflight import BALANCE_NOT_REPORTED, balance_text
from outcall_provider.rules.twilio_errors import blames_the_contact
from outcall_provider.rules.twiml import stream_twiml

log = logging.getLogger(__name__)
# twilio-python logs every request URL at INFO, and list URLs carry phone numbers.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

RING_TIMEOUT_S = 30      # seconds Twilio lets the phone ring
RETRIES_429 = 6          # 429 = too many concurrent requests; safe to repeat
# `completed` frees a line and wakes the dialer; `answered` shows a call in progress on the
# page. `initiated` and `ringing` would double the requests to the API server for states the
# page also learns from the dialer's Twilio polls.
STATUS_EVENTS = ["answered", "completed"]
DEFAULT_STORE_CONN_ID = "outcall_db"


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
        self._warm = False
        self.account_sid = ""

    def get_conn(self) -> Client:
        if self._client is None:
            conn = self.get_connection(self.twilio_conn_id)
            self._extras = conn.extra_dejson or {}
            self.account_sid = conn.login
            timeout = self._extra_number("http_timeout", HTTP_TIMEOUT_S)
            client = Client(conn.login, conn.password, http_client=TwilioHttpClient(timeout=timeout))
            client.api.base_url = self.base_url
            self._client = client
        return self._client

    def _extra_number(self, name: str, default: float) -> float:
        # Not `or default`: 0 is a real floor for min_balance. The form may send "" for empty.
        value = self._extras.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"connection {self.twilio_conn_id}: extra {name} must be a number, "
                             f"not {value!r}") from None

    @property
    def base_url(self) -> str:
        return (self._extras.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    @property
    def calls_per_second(self) -> float:
        self.get_conn()
        return self._extra_number("calls_per_second", DEFAULT_CALLS_PER_SECOND)

    @property
    def min_balance(self) -> float:
        """The preflight's floor: below it a campaign does not start."""
        self.get_conn()
        return self._extra_number("min_balance", DEFAULT_MIN_BALANCE)

    @property
    def callback_base_url(self) -> str | None:
        self.get_conn()
        return (self._extras.get("callback_base_url") or "").rstrip("/") or None

    # -- calls -----------------------------------------------------------------------------
    def place_call(self, to: str, from_: str, *, voice_url: str | None = None, stream_url: str | None = None,
                   parameters: dict | None = None, variables: dict | None = None,
                   before_each_try: Callable[[], None] | None = None,
                   store_conn_id: str = DEFAULT_STORE_CONN_ID) -> str:
        """Dial `to`; return the call SID. `parameters` are outcall's ids (rules/twiml.py): the
        voice_url's query string, or the stream's first <Parameter>s. `variables` (the lead's)
        only ever go into a stream's <Parameter>s, never into a URL that Twilio and the
        assistant would log; a variable never replaces an id. 429s are retried here, each try after
        `before_each_try` (the dialer's CPS pacing: a retry is a send like any other).
        Everything else is the caller's to resolve: CallNotPlaced (the number is bad, or its
        destination refused: rules/twilio_errors.py),
        TwilioAccountError (the account or campaign is), CallOutcomeUnknown (the call may
        exist: find it by listing, never by creating again)."""
        params = {k: str(v) for k, v in (parameters or {}).items()}
        kwargs: dict = {"to": to, "from_": from_, "machine_detection": "Enable", "timeout": RING_TIMEOUT_S}
        if voice_url:
            sep = "&" if "?" in voice_url else "?"
            kwargs["url"] = f"{voice_url}{sep}{urlencode(params)}" if params else voice_url
        else:
            kwargs["twiml"] = stream_twiml(stream_url, params, variables)
        if self.callback_base_url:
            # The webhook checks the signature with this connection's auth token and writes to
            # the campaign's own store: both are named when they are not the defaults.
            names = {"conn_id": self.twilio_conn_id if self.twilio_conn_id != self.default_conn_name else None,
                     "db_conn_id": store_conn_id if store_conn_id != DEFAULT_STORE_CONN_ID else None}
            query = urlencode({k: v for k, v in names.items() if v})
            kwargs["status_callback"] = (f"{self.callback_base_url}/outcall/webhooks/twilio/status"
                                         f"{'?' + query if query else ''}")
            kwargs["status_callback_event"] = STATUS_EVENTS
            kwargs["status_callback_method"] = "POST"
        try:
            call = self._with_backoff(lambda: self.get_conn().calls.create(**kwargs), before_each_try)
        except TwilioRestException as e:
            if e.status >= 500:
                raise CallOutcomeUnknown(f"Twilio answered {e.status} to a call to {mask_phone(to)}") from e
            if blames_the_contact(e.code):  # a bad number, or a destination refused
                raise CallNotPlaced(e.code, e.msg) from e
            raise TwilioAccountError(e.code, e.status, e.msg) from e
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
        """Every call matching the filters, in pages of up to 1000 (Twilio's maximum).
        `start_time_after` never finds a call still queued (its start_time is empty)."""
        kwargs = {k: v for k, v in {"to": to, "from_": from_, "start_time_after": utc(start_time_after)}.items()
                  if v}
        return self._with_backoff(
            lambda: [call_info(c) for c in self.get_conn().calls.stream(page_size=page_size, **kwargs)])

    def calls_created_since(self, to: str, from_: str, since: datetime, page_size: int = 50) -> list[CallInfo]:
        """Calls to `to` from `from_` created at or after `since`, newest first. Twilio lists
        newest first, so reading stops at the first older call; no StartTime filter, which
        would miss a call still waiting in the CPS queue."""
        since = utc(since)

        def read() -> list[CallInfo]:
            found = []
            for c in self.get_conn().calls.stream(to=to, from_=from_, page_size=page_size):
                info = call_info(c)
                if info.date_created is not None and info.date_created < since:
                    break
                found.append(info)
            return found

        return self._with_backoff(read)

    def warm_up(self) -> None:
        """One cheap request before the first paced create: a process's first request pays for
        lazy imports and a new connection (50+ ms), enough to push a paced call into the next
        second's share."""
        if not self._warm:
            try:
                self.balance()
            except TwilioRestException as e:  # bad credentials, a closed account
                raise TwilioAccountError(e.code, e.status, e.msg) from e
            self._warm = True

    # -- account ---------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """The connection form's Test button (Airflow needs [core] test_connection = Enabled):
        one authenticated read of the balance and the numbers, through `base_url`. The message
        never holds the Auth Token: it is built here, not copied from an exception."""
        try:
            balance, currency = self.balance()
            numbers = len(self._with_backoff(lambda: self.get_conn().incoming_phone_numbers.list(page_size=1000)))
        except TwilioRestException as e:
            hint = " (check the Account SID and the Auth Token)" if e.status == 401 else ""
            if e.code in (None, e.status):  # no Twilio error code: base_url is likely no Twilio API
                return False, f"{self.base_url} answered {e.status}: {e.msg}{hint}"
            return False, (f"Twilio at {self.base_url} answered {e.status}, error {e.code}: {e.msg}{hint}. "
                           f"https://www.twilio.com/docs/errors/{e.code}")
        except requests.exceptions.Timeout:
            timeout = self._extra_number("http_timeout", HTTP_TIMEOUT_S)
            return False, f"no answer from {self.base_url} within {timeout:g} s"
        except requests.exceptions.RequestException as e:
            return False, f"cannot reach the Twilio API at {self.base_url}: {_reason(e)}"
        except TwilioException as e:  # no credentials, or a list page that failed
            status = getattr(e.args[1], "status_code", None) if len(e.args) > 1 else None
            return False, f"Twilio at {self.base_url}: {e.args[0]}" + (f" ({status})" if status else "")
        except ValueError as e:  # an extra that is not a number
            return False, str(e)
        sid = self.account_sid or ""
        said = balance_text(balance, currency) if balance is not None else BALANCE_NOT_REPORTED
        return True, f"Connected to account {sid[:2]}…{sid[-4:]}: {numbers} phone number{'s' * (numbers != 1)}, {said}"

    def balance(self) -> tuple[float | None, str]:
        """The account's balance and currency; None when Twilio does not report it (a
        subaccount's Balance may answer `"balance": null`): rules/preflight.py decides."""
        b = self._with_backoff(lambda: self.get_conn().balance.fetch())
        return (None if b.balance in (None, "") else float(b.balance)), b.currency

    def owns_number(self, phone_number: str) -> bool:
        found = self._with_backoff(
            lambda: self.get_conn().incoming_phone_numbers.list(phone_number=phone_number, limit=1))
        return bool(found)

    def _with_backoff(self, request, before_each_try: Callable[[], None] | None = None):
        delay = 0.25
        for attempt in range(RETRIES_429 + 1):
            if before_each_try is not None:
                before_each_try()
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


def _reason(error: Exception) -> str:
    """Why a request failed, in a few words: the OS error if there is one ("[Errno 111]
    Connection refused"), else the error's kind. Never the whole text, which holds the URL."""
    found = re.search(r"\[Errno -?\d+\] [^'\")\]]+", str(error))
    return found.group(0).strip() if found else type(error).__name__


def utc(value: datetime | None) -> datetime | None:
    """twilio-python writes a datetime parameter with a literal Z without converting it."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("a naive datetime cannot be sent to Twilio: its time zone is unknown")
    return value.astimezone(timezone.utc)


def call_info(call) -> CallInfo:
    price = float(call.price) if call.price not in (None, "") else None
    return CallInfo(
        sid=call.sid, to=call.to, from_=getattr(call, "_from", None), status=call.status,
        answered_by=call.answered_by, duration_s=int(call.duration) if call.duration not in (None, "") else None,
        price=price, price_unit=call.price_unit, start_time=call.start_time, end_time=call.end_time,
        date_created=call.date_created)
