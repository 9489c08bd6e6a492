"""The sandbox's state: one account, its numbers, its calls, faults and counters.

Everything is guarded by one lock; every operation is O(page) or O(calls) in plain Python,
which is fast enough for tens of thousands of calls.
"""
import bisect
import hashlib
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Optional
from urllib.parse import urlencode

from . import outcomes
from .calls import API_VERSION, ENDED, Call, rfc2822
from .faults import Faults  # noqa: F401  (re-exported: engine.Faults is the old home)


class TwilioError(Exception):
    """Answered as Twilio's error JSON: {code, message, more_info, status}."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status}


@dataclass
class Config:
    account_sid: str
    auth_token: str
    phone_numbers: list
    cps: float = 1.0
    time_scale: float = 60.0
    seed: int = 0
    random_mix: bool = False
    goal_variable: str = "appointment_booked"
    variables_delay_s: float = 5.0
    late_variables_s: float = 300.0
    price_per_minute: float = 0.013
    balance: Optional[float] = 100.0  # None: answered as "balance": null (a subaccount's)
    price_delay_s: float = 2.0        # real seconds from a call's end until its price shows
    allowed_country_codes: tuple = ("1",)  # geo permissions: country calling codes, no '+'
    geo_refused_prefixes: dict = field(default_factory=dict)  # geo permissions: prefix -> 21215/13227/32205
    created_at: float = field(default_factory=time.time)


class Engine:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time):
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self.schedule: Callable[[Call], None] = lambda call: None  # set by the notifier
        self.reset()

    def reset(self):
        with self.lock:
            self.calls: list = []                   # oldest first: by _order
            self.by_sid: dict = {}
            self.by_to: dict = defaultdict(list)    # To -> its calls, by _order
            self.next_slot = 0.0                    # earliest start for the next call (CPS)
            self.faults = Faults()
            self.requests: Counter = Counter()
            self.responses: Counter = Counter()
            self.callback_results: Counter = Counter()
            self.injected: Counter = Counter()      # faults injected, by fault name
            self.pending = 0                        # callbacks and results not yet sent

    # -- accounts and numbers -------------------------------------------------------------

    def check_account(self, user: Optional[str], password: Optional[str], path_sid: str):
        c = self.config
        if user != c.account_sid or password != c.auth_token or path_sid != c.account_sid:
            raise TwilioError(401, 20003, "Authenticate")

    def number_sid(self, number: str) -> str:
        return "PN" + hashlib.md5(f"{self.config.account_sid}{number}".encode()).hexdigest()

    def account(self) -> dict:
        c = self.config
        return {"sid": c.account_sid, "owner_account_sid": c.account_sid,
                "friendly_name": "outcall sandbox", "status": "active", "type": "Full",
                "date_created": rfc2822(c.created_at), "date_updated": rfc2822(c.created_at),
                "uri": f"/{API_VERSION}/Accounts/{c.account_sid}.json"}

    def balance(self) -> dict:
        if self.config.balance is None:  # Twilio may not report a child account's balance
            return {"account_sid": self.config.account_sid, "balance": None, "currency": "USD"}
        with self.lock:
            now = self.clock()
            spent = sum(c.price(now, self.config.price_per_minute) or 0 for c in self.calls)
        return {"account_sid": self.config.account_sid,
                "balance": f"{self.config.balance + spent:.2f}", "currency": "USD"}

    def incoming_numbers(self, query: dict, path: str) -> dict:
        c = self.config
        wanted = query.get("PhoneNumber", "").replace(" ", "")
        rows = [{"sid": self.number_sid(n), "account_sid": c.account_sid,
                 "phone_number": n, "friendly_name": n, "api_version": API_VERSION,
                 "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
                 "status": "in-use", "date_created": rfc2822(c.created_at),
                 "date_updated": rfc2822(c.created_at),
                 "uri": f"/{API_VERSION}/Accounts/{c.account_sid}/IncomingPhoneNumbers/"
                        f"{self.number_sid(n)}.json"}
                for n in c.phone_numbers if wanted in n]
        uri = path + ("?" + urlencode(query) if query else "")
        return {"incoming_phone_numbers": rows, "page": 0, "page_size": max(50, len(rows)),
                "start": 0, "end": max(len(rows) - 1, 0), "first_page_uri": uri,
                "next_page_uri": None, "previous_page_uri": None, "uri": uri}

    # -- calls ----------------------------------------------------------------------------

    def create_call(self, form: dict) -> Call:
        """`form` maps Twilio parameter names to lists of values (as parse_qs returns)."""
        def one(name):
            return (form.get(name) or [None])[0]

        to, from_ = one("To"), one("From")
        if not to:
            raise TwilioError(400, 21201, "No 'To' number is specified")
        if not from_:
            raise TwilioError(400, 21213, "No 'From' number is specified")
        if not (one("Url") or one("Twiml") or one("ApplicationSid")):
            raise TwilioError(400, 21205, "Url parameter is required.")
        if one("Url") and not one("Url").startswith(("http://", "https://")):
            raise TwilioError(400, 21205, f"Url is not a valid URL: {one('Url')}")
        if one("Twiml") and len(one("Twiml")) > outcomes.TWIML_MAX:
            raise TwilioError(400, *outcomes.TWIML_TOO_LONG)
        rejected = outcomes.rejection(to, self.config.allowed_country_codes,
                                      self.config.geo_refused_prefixes)
        if rejected:
            raise TwilioError(400, *rejected)
        if from_ not in self.config.phone_numbers:
            raise TwilioError(400, 21210, f"The source phone number provided, {from_}, is not "
                              "yet verified for your account. You may only make calls from "
                              "phone numbers that you've verified or purchased from Twilio.")
        timeout = _int(one("Timeout"), 60)
        if not 1 <= timeout <= 600:
            timeout = 60
        events = set()
        for value in form.get("StatusCallbackEvent") or ["completed"]:
            events.update(value.split())
        scale = self.config.time_scale

        with self.lock:
            now = self.clock()
            attempt = len(self.by_to[to])
            plan = outcomes.plan_call(
                to, attempt, seed=self.config.seed, random_mix=self.config.random_mix,
                machine_detection=one("MachineDetection"), timeout=timeout,
                variables_delay_s=self.config.variables_delay_s,
                late_variables_s=self.config.late_variables_s)
            # CPS: a call beyond the rate waits in the queue for the next free slot.
            start = max(now, self.next_slot)
            self.next_slot = start + 1.0 / self.config.cps
            answered = plan.talk_s > 0
            answer_at = start + plan.ring_s / scale if answered else None
            end = (answer_at + plan.talk_s / scale) if answered else start + plan.ring_s / scale
            call = Call(
                seq=len(self.calls), sid="CA" + uuid.uuid4().hex,
                account_sid=self.config.account_sid, to=to, from_=from_,
                phone_number_sid=self.number_sid(from_),
                params={k: (v if len(v) > 1 else v[0]) for k, v in form.items()},
                status_callback=one("StatusCallback"),
                status_callback_method=(one("StatusCallbackMethod") or "POST").upper(),
                events=frozenset(events), attempt=attempt, plan=plan, created_at=now,
                start_at=start, answer_at=answer_at, end_at=end,
                final_status=plan.status, talk_s=plan.talk_s,
                price_delay_s=self.config.price_delay_s)
            self._plan_variables(call)
            bisect.insort(self.calls, call, key=_order)
            self.by_sid[call.sid] = call
            bisect.insort(self.by_to[to], call, key=_order)
            self.schedule(call)
            return call

    def _plan_variables(self, call: Call):
        """The assistant reports only after a human-answered call that ended `completed`."""
        plan = call.plan
        if plan.goal is None or call.answer_at is None or call.final_status != "completed":
            call.variables, call.variables_at = None, None
            return
        call.variables = {self.config.goal_variable: plan.goal, "summary": plan.summary}
        call.variables_at = call.end_at + plan.variables_delay_s / self.config.time_scale

    def get_call(self, sid: str) -> Call:
        call = self.by_sid.get(sid)
        if call is None:
            raise TwilioError(404, 20404, f"The requested resource /{API_VERSION}/Accounts/"
                              f"{self.config.account_sid}/Calls/{sid}.json was not found")
        return call

    def update_call(self, sid: str, form: dict) -> Call:
        """Status=canceled ends a queued/ringing call; Status=completed also hangs up a live one."""
        status = (form.get("Status") or [None])[0]
        with self.lock:
            call = self.get_call(sid)
            now = self.clock()
            current = call.status(now)
            if status not in (None, "canceled", "completed"):
                raise TwilioError(400, 20001, f"Invalid Status: {status}")
            if status is None:
                if current in ENDED:
                    raise TwilioError(400, 21220, "Call is not in-progress. Cannot redirect.")
                return call  # a redirect (Url/Twiml): nothing to simulate
            if current in ("queued", "ringing"):
                call.final_status, call.answer_at, call.talk_s = "canceled", None, 0
                call.started = current == "ringing"
                call.end_at = now
            elif current == "in-progress" and status == "completed":
                call.talk_s = max(1, round((now - call.answer_at) * self.config.time_scale))
                call.end_at = now
            else:
                return call  # already ended, or `canceled` on a live call: Twilio ignores it
            call.gen += 1
            call.cut_at = now
            self._plan_variables(call)
            self.schedule(call)
            return call

    def list_calls(self, query: dict, path: str) -> dict:
        """One page, newest first (by date_created, ties by creation order, like Twilio).
        PageToken 'PA<sid>' resumes after that call."""
        page_size = min(max(_int(query.get("PageSize"), 50), 1), 1000)
        page = max(_int(query.get("Page"), 0), 0)
        match = self._filter(query)
        with self.lock:
            now = self.clock()
            to = query.get("To")
            pool = self.by_to.get(to, []) if to else self.calls
            token = query.get("PageToken", "")
            skip = 0
            if token:
                after = self.by_sid.get(token[2:])
                i = bisect.bisect_left(pool, _order(after), key=_order) if after else 0
            else:
                i, skip = len(pool), page * page_size
            rows = []
            while i > 0 and len(rows) <= page_size:  # one extra row tells if a next page exists
                i -= 1
                call = pool[i]
                if match(call, now):
                    if skip:
                        skip -= 1
                    else:
                        rows.append(call)
            more = len(rows) > page_size
            rows = rows[:page_size]
            body = [c.to_twilio(now, self.config.price_per_minute) for c in rows]
        filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(n, token=None):
            q = dict(filters, PageSize=page_size, Page=n)
            if token:
                q["PageToken"] = token
            return f"{path}?{urlencode(q)}"

        return {
            "calls": body,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, "PA" + rows[-1].sid) if more else None,
            "previous_page_uri": None,
            "page": page, "page_size": page_size,
            "start": page * page_size, "end": page * page_size + max(len(rows) - 1, 0),
            "uri": f"{path}?{urlencode(query)}",
        }

    def _filter(self, query: dict):
        """A predicate for the list filters. StartTime matches only a call's real start time:
        a call still queued has none, so no StartTime filter finds it (like Twilio)."""
        checks = []
        if "From" in query:
            checks.append(lambda c, now, v=query["From"]: c.from_ == v)
        if "To" in query:
            checks.append(lambda c, now, v=query["To"]: c.to == v)
        if "Status" in query:
            checks.append(lambda c, now, v=query["Status"]: c.status(now) == v)
        if "ParentCallSid" in query:
            checks.append(lambda c, now: False)  # the sandbox never has child calls
        for name, when in (("StartTime", lambda c, now: c.start_at if c.has_started(now) else None),
                           ("EndTime", lambda c, now: c.end_at if c.ended(now) else None)):
            for op in ("", "<", ">"):
                if name + op in query:
                    checks.append(_time_check(name + op, query[name + op], op, when))
        return lambda call, now: all(check(call, now) for check in checks)

    # -- the control API's views ----------------------------------------------------------

    def log(self, to: Optional[str] = None) -> list:
        with self.lock:
            now = self.clock()
            pool = self.by_to.get(to, []) if to else self.calls
            return [c.to_log(now, self.config.price_per_minute) for c in pool]

    def stats(self) -> dict:
        with self.lock:
            now = self.clock()
            statuses = Counter(c.status(now) for c in self.calls)
            return {"requests": dict(self.requests), "responses": dict(self.responses),
                    "calls": len(self.calls), "numbers_called": len(self.by_to),
                    "calls_by_status": dict(statuses),
                    "callbacks": dict(self.callback_results),
                    "callbacks_pending": self.pending, "injected": dict(self.injected),
                    "faults": self.faults.view()}

    def count(self, endpoint: str, status: int):
        with self.lock:
            self.requests[endpoint] += 1
            self.responses[f"{endpoint} {status}"] += 1


def _order(call: Call) -> tuple:
    """Twilio's list order, oldest first: date_created (whole seconds), then creation order."""
    return int(call.created_at), call.seq


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _time_check(name: str, value: str, op: str, when):
    """Twilio's StartTime/EndTime filters, UTC, whole seconds: '>' on or after, '<' strictly
    before (a date or a datetime), '' on the same day (the time part is ignored)."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
        if not op or len(value) == 10:  # twilio-python sends a date as 'YYYY-MM-DDT00:00:00Z'
            dt = dt.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        lo = dt.timestamp()
        hi = lo + 86400
    except ValueError:
        raise TwilioError(400, 20001, f"Invalid value for {name}: {value}") from None

    def check(call, now):
        t = when(call, now)
        if t is None:
            return False
        t = int(t)
        return {"": lo <= t < hi, ">": t >= lo, "<": t < lo}[op]
    return check
