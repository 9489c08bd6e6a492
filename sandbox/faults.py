"""Fault injection: counted faults (the next n requests fail) and seeded rates.

A rate is drawn from a hash of (seed, fault, key), never from a shared random stream, so a
run is repeatable whatever order concurrent requests arrive in: a create is keyed by its
`To` number and how many create requests that number had before, a callback by the call's
number, its attempt and the event, any other request by its order on its endpoint.
"""
import hashlib
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Optional

ENDPOINTS = ("calls.create", "calls.list", "calls.fetch", "calls.update", "balance.fetch",
             "incoming_phone_numbers.list", "accounts.fetch")

# Refused before anything happens; any Twilio API request, or only `endpoint` when set.
REQUEST_RATES = ("timeout", "status_500", "status_429")
# The call is created, then the answer is lost: the client never learns the SID.
CREATE_RATES = ("create_timeout_after_create", "create_500_after_create")
# Per status callback event.
CALLBACK_RATES = ("callback_drop", "callback_delay", "callback_duplicate",
                  "callback_out_of_order", "callback_no_answered_by")
RATES = REQUEST_RATES + CREATE_RATES + CALLBACK_RATES


def chance(*key) -> float:
    """A uniform number in [0, 1) fixed by `key`."""
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


@dataclass
class Faults:
    status_429: int = 0
    status_500: int = 0
    timeout: int = 0
    timeout_seconds: float = 30.0   # how long a timeout hangs before dropping the connection
    latency_ms: float = 0.0         # added to every Twilio API request while set
    after_create: bool = False      # counted timeout/500 hit creates, after the call exists
    endpoint: Optional[str] = None  # only requests to this endpoint (counters and REQUEST_RATES)
    rates: dict = field(default_factory=dict)  # fault name (RATES) -> probability 0..1
    seed: int = 0
    callback_delay_max_s: float = 5.0  # a delayed callback waits uniform(0, this) real seconds
    seen: Counter = field(default_factory=Counter, init=False, repr=False)

    def __post_init__(self):
        unknown = set(self.rates) - set(RATES)
        if unknown:
            raise ValueError(f"unknown fault rates {sorted(unknown)}; allowed: {list(RATES)}")
        for name, rate in self.rates.items():
            if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                raise ValueError(f"rates.{name} is {rate!r}; allowed: a number from 0 to 1")
        if self.endpoint is not None and self.endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint {self.endpoint!r} is unknown; allowed: {list(ENDPOINTS)}")
        for name in ("status_429", "status_500", "timeout"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a count >= 0 (the next n requests fail)")

    @classmethod
    def from_json(cls, data: dict) -> "Faults":
        known = [f.name for f in fields(cls) if f.init]
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {known}")
        return cls(**data)

    def view(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def hit(self, name: str, *key) -> bool:
        rate = self.rates.get(name, 0)
        return rate > 0 and chance(self.seed, name, *key) < rate

    def before(self, endpoint: str, key: str = "") -> Optional[str]:
        """The fault that refuses this request before it does anything (REQUEST_RATES name).
        Counters come first; with `after_create` only status_429 refuses before creating."""
        wanted = self.endpoint or ("calls.create" if self.after_create else None)
        if wanted in (None, endpoint):
            for name in ("status_429",) if self.after_create else REQUEST_RATES:
                if getattr(self, name) > 0:
                    setattr(self, name, getattr(self, name) - 1)
                    return name
        if self.endpoint not in (None, endpoint):
            return None
        n = self.seen[(endpoint, key)]
        self.seen[(endpoint, key)] += 1
        return next((name for name in REQUEST_RATES if self.hit(name, endpoint, key, n)), None)

    def after_created(self, to: str, attempt: int) -> Optional[str]:
        """The fault that loses a create's answer once the call exists (CREATE_RATES name)."""
        if self.after_create and self.endpoint in (None, "calls.create"):
            for name, counter in (("create_timeout_after_create", "timeout"),
                                  ("create_500_after_create", "status_500")):
                if getattr(self, counter) > 0:
                    setattr(self, counter, getattr(self, counter) - 1)
                    return name
        return next((name for name in CREATE_RATES if self.hit(name, to, attempt)), None)
