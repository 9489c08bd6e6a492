"""Webhooks, mounted at /outcall/webhooks without Airflow login: each request proves itself.

- POST /twilio/status: Twilio's call-progress callback, signed with X-Twilio-Signature (HMAC-SHA1
  keyed by the Auth Token of the Twilio connection, over the URL Twilio called + the form).
- POST /assistant/results: the assistant's post-call variables, signed with
  X-Outcall-Signature: sha256=<hex HMAC-SHA256 of the raw body>, keyed by the password of the
  `outcall_assistant` connection. Reports of one call merge until its attempt is judged; later
  ones are kept apart on the attempt. The answer says which (`used`, `arrived_after_judging`).
  Optional `transcript` (text) and `recording_url` (http or https) are stored on the attempt.

Each call lives in the store of its campaign (`connections.db_conn_id`). A callback URL may name
it (`?db_conn_id=...`, one of the campaign files' stores); without it the stores of every
campaign file are searched.

A request that fails its check changes nothing and learns nothing (403, same body either way).
"""
from __future__ import annotations

import email.utils
import hashlib
import hmac
import logging
import re
import time
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL
from twilio.request_validator import RequestValidator

from outcall_provider import campaign_files, clock
from outcall_provider.api import airflow_access
from outcall_provider.api.store import store_conn_ids, thread_hook
from outcall_provider.rules import variables
from outcall_provider.rules.phone import mask_phone, mask_phones_in_text
from outcall_provider.rules.states import CALL_STATUSES, TERMINAL_CALL_STATUSES

log = logging.getLogger(__name__)
router = APIRouter()
ASSISTANT_CONN_ID = "outcall_assistant"
DEFAULT_TWILIO_CONN_ID = "twilio_default"
MAX_BODY_BYTES = 64 * 1024  # a status callback is ~1 KB, the assistant's variables a few KB
_CALL_SID = re.compile(r"CA[0-9A-Za-z]{32}")
_FINAL = frozenset(TERMINAL_CALL_STATUSES)
_STATUSES = frozenset(CALL_STATUSES)
MAX_RECORDING_URL = 2048
CONNECTION_TTL_S = 30  # how long a read of a connection serves the webhooks' checks
_connections: dict[str, tuple[float, object | None]] = {}
CAMPAIGN_FILES_TTL_S = 5  # a new campaign's first call comes later: its DAG must be parsed first
_known_conn_ids: list = [float("-inf"), frozenset(), []]


async def _body(request: Request) -> bytes:
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise HTTPException(413, "request body too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, "request body too large")
    return body


def _refuse(why: str, *args) -> HTTPException:
    log.warning("webhook refused: " + why, *args)
    return HTTPException(403, "signature check failed")


def _campaign_conn_ids() -> tuple[frozenset[str], list[str]]:
    """(Twilio connections a callback may name: the default and the campaign files' ones; the
    stores to search), listed at most every CAMPAIGN_FILES_TTL_S: a callback comes for every
    call, and listing and checking a hundred files costs more than applying it."""
    at, twilio, stores = _known_conn_ids
    if time.monotonic() - at >= CAMPAIGN_FILES_TTL_S:
        campaigns = campaign_files.cached_campaigns()
        twilio = frozenset({DEFAULT_TWILIO_CONN_ID, *(c.twilio_conn_id for c in campaigns)})
        stores = store_conn_ids(campaigns)
        _known_conn_ids[:] = [time.monotonic(), twilio, stores]
    return twilio, stores


def _connection(conn_id: str, fresh: bool) -> tuple[object | None, bool]:
    """(Airflow connection or None if undefined, whether it was read just now). Read at most
    every CONNECTION_TTL_S: every call sends callbacks, and a read each costs more than the
    callback. A check that fails on a cached read asks again with `fresh`, so a rotated key
    applies at once."""
    now = time.monotonic()
    hit = _connections.get(conn_id)
    if not fresh and hit is not None and now - hit[0] < CONNECTION_TTL_S:
        return hit[1], False
    try:
        conn = airflow_access.connection(conn_id)
    except Exception:  # not defined: nothing can be verified
        conn = None
    _connections[conn_id] = (now, conn)
    return conn, True


def _verified(conn_id: str, check) -> bool:
    """Whether check(connection) holds, on the cached connection or else on a fresh read."""
    conn, fresh = _connection(conn_id, fresh=False)
    if conn is not None and check(conn):
        return True
    if not fresh:
        conn, _ = _connection(conn_id, fresh=True)
        return conn is not None and check(conn)
    return False


def _public_url(url: URL, conn) -> str:
    """The URL Twilio signed: callback_base_url (the public address the dialer gave Twilio)
    + this path and query; without it, the URL this server was reached at."""
    base = (conn.extra_dejson.get("callback_base_url") or "").rstrip("/")
    if not base:
        return str(url)
    return f"{base}{url.path}{'?' + url.query if url.query else ''}"


@router.post("/twilio/status", status_code=204, summary="Twilio call status callback")
async def twilio_status(request: Request):
    body = await _body(request)
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        raise _refuse("twilio status without X-Twilio-Signature")
    try:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise _refuse("twilio status body is not UTF-8") from None
    # One trip to the thread pool: a callback comes for every call, several times.
    await run_in_threadpool(_verify_and_apply_status, request.url, params, signature)
    return Response(status_code=204)


def _verify_and_apply_status(url: URL, params: dict, signature: str) -> None:
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    conn_id = query.get("conn_id", DEFAULT_TWILIO_CONN_ID)
    if conn_id not in _campaign_conn_ids()[0]:
        raise _refuse("connection %r is not a Twilio connection of a campaign", conn_id)

    def signed(conn) -> bool:  # an empty key would let anyone sign
        return bool(conn.password) and RequestValidator(conn.password).validate(
            _public_url(url, conn), params, signature)

    if not _verified(conn_id, signed):
        raise _refuse("bad X-Twilio-Signature, or no usable auth token for connection %r", conn_id)
    _apply_status(params, _stores_to_search(query.get("db_conn_id")))


def _stores_to_search(named: str | None) -> list[str]:
    """The store a callback names, if it is one a campaign file uses; else every such store.
    A name no campaign uses is not connected to (it could be any Airflow connection)."""
    known = _campaign_conn_ids()[1]
    if named and named not in known:
        log.warning("webhook names store %r, which no campaign file uses: searching every store",
                    mask_phones_in_text(named))
    return [named] if named in known else known


def _apply_status(params: dict, stores: list[str]) -> None:
    sid, call_status = params.get("CallSid", ""), params.get("CallStatus", "")
    try:
        sequence = int(params.get("SequenceNumber", ""))
    except ValueError:
        sequence = None
    if not _CALL_SID.fullmatch(sid) or call_status not in _STATUSES or sequence is None or sequence < 0:
        log.warning("twilio status callback without a usable CallSid/CallStatus/SequenceNumber: ignored")
        return
    duration = params.get("CallDuration")
    ended_at = None
    if call_status in _FINAL:
        try:
            ended_at = email.utils.parsedate_to_datetime(params["Timestamp"])
        except (KeyError, TypeError, ValueError):
            ended_at = clock.now()
    # A SID is in one store only: the others change nothing.
    applied_in, _ = _first_in_stores(stores, lambda hook: hook.webhook_call_status(
        sid, sequence, call_status, params.get("AnsweredBy") or None,
        int(duration) if duration and duration.isdigit() else None, ended_at))
    log.info("call %s to %s: %s (#%s) %s", sid, mask_phone(params.get("To", "")), call_status, sequence,
             f"applied in store {applied_in}" if applied_in else "ignored (repeat, late or unknown call)")


def _assistant_signed(body: bytes, header: str) -> bool:
    """Whether X-Outcall-Signature is the HMAC of the body keyed by the assistant connection's
    password (an empty one would let anyone sign)."""
    def signed(conn) -> bool:
        if not conn.password:
            return False
        expected = "sha256=" + hmac.new(conn.password.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(header.encode(), expected.encode())

    return _verified(ASSISTANT_CONN_ID, signed)


@router.post("/assistant/results", summary="The assistant's post-call variables for one call")
async def assistant_results(request: Request):
    body = await _body(request)
    header = request.headers.get("x-outcall-signature", "")
    if not await run_in_threadpool(_assistant_signed, body, header):
        raise _refuse("bad X-Outcall-Signature, or connection %r has no password", ASSISTANT_CONN_ID)
    try:
        payload = variables.parse(body)
    except ValueError:
        raise HTTPException(400, "the body is not JSON") from None
    problems = variables.refused(payload)
    if problems:  # NaN/Infinity and NUL: no JSON consumer nor PostgreSQL can keep them
        raise HTTPException(422, {"message": "the body has values that cannot be stored", "problems": problems})
    if (not isinstance(payload, dict) or not isinstance(payload.get("call_sid"), str)
            or not _CALL_SID.fullmatch(payload["call_sid"]) or not isinstance(payload.get("variables"), dict)):
        raise HTTPException(400, 'expected {"call_sid": "CA…", "variables": {…}}')
    problems = _media_problems(payload.get("transcript"), payload.get("recording_url"))
    if problems:
        raise HTTPException(422, {"message": "transcript or recording_url cannot be stored", "problems": problems})
    stores = await run_in_threadpool(_stores_to_search, request.query_params.get("db_conn_id"))
    return await run_in_threadpool(store_variables, payload["call_sid"], payload["variables"], stores,
                                   payload.get("transcript") or None, payload.get("recording_url") or None)


def _media_problems(transcript, recording_url) -> list[str]:
    """The page links the recording: only an absolute http(s) URL may be one (a javascript: or
    data: URL would run in the page). The value is not echoed: it may hold a token."""
    problems = []
    if transcript is not None and not isinstance(transcript, str):
        problems.append(f"transcript: {variables.json_type(transcript)} given, string expected")
    if recording_url is not None:
        try:
            parts = urlsplit(recording_url) if isinstance(recording_url, str) else None
        except ValueError:  # e.g. an unclosed [IPv6 literal
            parts = None
        if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
                or len(recording_url) > MAX_RECORDING_URL or any(c.isspace() or ord(c) < 32 for c in recording_url)):
            problems.append(f"recording_url: must be an absolute http:// or https:// URL of at most "
                            f"{MAX_RECORDING_URL} characters")
    return problems


def _first_in_stores(stores: list[str], ask):
    """(conn_id, answer) of the first store where ask(hook) answers something, else (None, None).
    A store that fails is skipped (it may not hold this call); if the answer may be in it, 503,
    so that the sender tries again rather than the request being lost."""
    failed = []
    for conn_id in stores:
        try:
            answer = ask(thread_hook(conn_id))
        except Exception as e:
            log.warning("campaign store %s cannot be read: %s", conn_id, mask_phones_in_text(str(e)))
            failed.append(conn_id)
            continue
        if answer:
            return conn_id, answer
    if failed:
        raise HTTPException(503, f"campaign store {', '.join(failed)} unavailable; try again later")
    return None, None


def store_variables(call_sid: str, values: dict, stores: list[str], transcript: str | None = None,
                     recording_url: str | None = None) -> JSONResponse:
    conn_id, call = _first_in_stores(stores, lambda hook: hook.webhook_call_campaign(call_sid))
    # Results may come before the dialer has saved the call's SID (it crashed in between): they
    # are kept by SID in every store it may belong to, checked for plain JSON types only; the
    # campaign's types apply once known.
    declared = call["post_call_variables"] or {} if call else None
    problems = variables.check(values, declared)
    if problems:
        raise HTTPException(422, {"message": "variables do not match the campaign", "problems": problems})
    now = clock.now()
    kept = {thread_hook(c).set_call_variables(call_sid, values, now, transcript=transcript,
                                              recording_url=recording_url)
            for c in ([conn_id] if call else stores)}
    kept_as = kept.pop() if len(kept) == 1 else "used"
    names = mask_phones_in_text(", ".join(sorted(values)))
    media = [name for name, value in (("transcript", transcript), ("recording_url", recording_url)) if value]
    body = {"call_sid": call_sid, "stored": kept_as != "empty" or bool(media), "call_known": call is not None,
            "used": kept_as in ("used", "early"), "arrived_after_judging": kept_as == "late"}
    if media:
        log.info("call %s: %s stored", call_sid, " and ".join(media))
    if kept_as == "empty":
        body["note"] = "every value is null: nothing is received yet, the call still waits for its variables"
        log.info("call %s: post-call report with no values (%s): not counted as received", call_sid, names)
    elif kept_as == "late":
        body["note"] = "the call was judged before these values arrived: they are kept on it, not judged on"
        opt_out = call.get("opt_out_variable")
        if opt_out and values.get(opt_out) is True:  # a person's "don't call me again" still counts
            thread_hook(conn_id).opt_out_late(call_sid, now)
            body["note"] += f"; {opt_out} is true: the number is on the do-not-call list"
        log.warning("call %s: post-call variables (%s) arrived after the call was judged (store %s)",
                    call_sid, names, conn_id)
    else:
        log.info("call %s: post-call variables received (%s)%s", call_sid, names,
                 f" (store {conn_id})" if call else "; no attempt has this call SID yet")
    return JSONResponse(body, status_code=200 if call else 202)
