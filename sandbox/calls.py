"""One call: its timeline and how it looks in Twilio's JSON and in the sandbox's own log.

A call's state is never stored as "current status": it is read from its timestamps (real
epoch seconds) at the moment of the request, so 10,000 calls in flight cost no threads.
"""
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Optional

from .outcomes import Plan

API_VERSION = "2010-04-01"
ENDED = {"completed", "busy", "no-answer", "failed", "canceled"}


def rfc2822(ts: Optional[float]) -> Optional[str]:
    """Twilio's date format: 'Tue, 31 Aug 2010 20:36:28 +0000'."""
    if ts is None:
        return None
    return format_datetime(datetime.fromtimestamp(int(ts), timezone.utc))


def iso(ts: Optional[float]) -> Optional[str]:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def formatted(number: str) -> str:
    if number.startswith("+1") and len(number) == 12:
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


@dataclass
class Call:
    seq: int                     # creation order; the list index and the paging key
    sid: str
    account_sid: str
    to: str
    from_: str
    phone_number_sid: str
    params: dict                 # what the client sent (Url, Twiml, MachineDetection, ...)
    status_callback: Optional[str]
    status_callback_method: str
    events: frozenset            # requested StatusCallbackEvent values
    attempt: int                 # earlier calls to the same number
    plan: Plan
    created_at: float
    start_at: float              # the CPS slot: when the call leaves the queue (never shown
                                 # before then: Twilio has no start_time for a queued call)
    answer_at: Optional[float]   # None when never answered
    end_at: float
    final_status: str
    talk_s: int                  # simulated seconds between answer and end
    started: bool = True         # False when canceled while still queued
    price_delay_s: float = 0.0   # real seconds after the end until Twilio shows the price
    create_fault: Optional[str] = None  # the fault that lost the create's answer, if any
    cut_at: Optional[float] = None      # when an update ended the call early
    variables: Optional[dict] = None
    variables_at: Optional[float] = None
    gen: int = 0                 # bumped on update; scheduled callbacks of older gens are dropped
    status_events: list = field(default_factory=list)  # (at, kind) in firing order
    callbacks: list = field(default_factory=list)

    def status(self, now: float) -> str:
        if now >= self.end_at:
            return self.final_status
        if now < self.start_at:
            return "queued"
        if self.answer_at is not None and now >= self.answer_at:
            return "in-progress"
        return "ringing"

    def has_started(self, now: float) -> bool:
        return self.started and now >= self.start_at

    def ended(self, now: float) -> bool:
        return now >= self.end_at

    def answered(self, now: float) -> bool:
        return self.answer_at is not None and now >= self.answer_at

    def duration(self, now: float) -> Optional[int]:
        if not self.ended(now):
            return None
        return self.talk_s if self.answer_at is not None else 0

    def price(self, now: float, per_minute: float) -> Optional[float]:
        """Negative, per started minute, like Twilio; None for calls nobody answered, and
        None until `price_delay_s` after the end (Twilio rates a call some time later)."""
        if self.answer_at is None or now < self.price_at():
            return None
        return -math.ceil(self.talk_s / 60) * per_minute

    def price_at(self) -> float:
        return self.end_at + self.price_delay_s

    def queue_time(self, now: float) -> str:
        """Milliseconds spent in the queue, known once the call left it."""
        if not self.has_started(now):
            return "0"
        return str(int((self.start_at - self.created_at) * 1000))

    def answered_by(self, now: float) -> Optional[str]:
        return self.plan.answered_by if self.answered(now) else None

    def updated_at(self, now: float) -> float:
        moments = [self.created_at, self.start_at if self.started else None, self.answer_at,
                   self.end_at, self.price_at() if self.answer_at is not None else None]
        return max((t for t in moments if t is not None and t <= now), default=self.created_at)

    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def to_twilio(self, now: float, per_minute: float, just_created: bool = False) -> dict:
        """Twilio's JSON as of `now`; the create response always says queued, like Twilio."""
        if just_created:
            return dict(self.to_twilio(self.created_at, per_minute), status="queued",
                        start_time=None, queue_time="0",
                        date_updated=rfc2822(self.created_at))
        price = self.price(now, per_minute)
        duration = self.duration(now)
        base = self.uri()[:-5]
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": self.answered_by(now),
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.updated_at(now)),
            "direction": "outbound-api",
            "duration": None if duration is None else str(duration),
            "end_time": rfc2822(self.end_at) if self.ended(now) else None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": formatted(self.from_),
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": self.phone_number_sid,
            "price": None if price is None else f"{price:.4f}",
            "price_unit": "USD",
            "queue_time": self.queue_time(now),
            "start_time": rfc2822(self.start_at) if self.has_started(now) else None,
            "status": self.status(now),
            "subresource_uris": {
                name: f"{base}/{name}.json"
                for name in ("notifications", "recordings", "payments", "events",
                             "siprec", "streams", "transcriptions", "user_defined_message_subscriptions",
                             "user_defined_messages")
            },
            "to": self.to,
            "to_formatted": formatted(self.to),
            "trunk_sid": None,
            "uri": self.uri(),
        }

    def to_log(self, now: float, per_minute: float) -> dict:
        """The sandbox's own view, with exact (sub-second) times and the planned outcome."""
        ready = self.variables_at is not None and now >= self.variables_at
        price = self.price(now, per_minute)
        return {
            "sid": self.sid,
            "to": self.to,
            "from": self.from_,
            "status": self.status(now),
            "outcome": self.plan.outcome,
            "attempt": self.attempt,
            "answered_by": self.answered_by(now),
            "duration": self.duration(now),
            "price": None if price is None else f"{price:.4f}",
            "created_at": iso(self.created_at),
            "started_at": iso(self.start_at) if self.has_started(now) else None,
            "answered_at": iso(self.answer_at),
            "ended_at": iso(self.end_at),
            "price_at": iso(self.price_at()) if self.answer_at is not None else None,
            "create_fault": self.create_fault,
            "variables": self.variables if ready else None,
            "variables_at": iso(self.variables_at),
            "params": self.params,
            "callbacks": list(self.callbacks),
        }
