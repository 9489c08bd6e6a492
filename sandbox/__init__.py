"""A Twilio-compatible server on loopback: outbound calls with deterministic outcomes.

    from sandbox import Sandbox
    with Sandbox(cps=5, time_scale=600) as sb:
        client = sb.client()            # a twilio.rest.Client pointed at sb.url
        call = client.calls.create(to="+14155551000", from_=sb.phone_numbers[0],
                                   url="https://assistant.example.com/voice")

See sandbox/README.md for the outcome table and the control API.
"""
import threading
import time
from typing import Callable, Iterable, Mapping, Optional, Union

from .engine import Config, Engine
from .faults import Faults
from .notify import Notifier
from .outcomes import geo_refusals
from .server import SandboxServer

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "sandbox-token"
DEFAULT_NUMBER = "+14155550100"

__all__ = ["Sandbox", "DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "DEFAULT_NUMBER"]


class Sandbox:
    """The sandbox in a background thread. Times are real seconds; `time_scale` simulated
    seconds pass per real second while a call rings and talks."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN,
                 phone_numbers: Iterable[str] = (DEFAULT_NUMBER,), cps: float = 1,
                 time_scale: float = 60, seed: int = 0, random_mix: bool = False,
                 goal_variable: str = "appointment_booked", variables_delay: float = 5,
                 late_variables: float = 300, price_per_minute: float = 0.013,
                 balance: Optional[float] = 100.0, price_delay: float = 2.0,
                 allowed_country_codes: Iterable[str] = ("1",),
                 geo_refused_prefixes: Union[Mapping[str, int], Iterable[str]] = (),
                 assistant_results_url: Optional[str] = None,
                 assistant_secret: Optional[str] = None,
                 on_variables: Optional[Callable[[str, dict], None]] = None,
                 clock: Callable[[], float] = time.time, verbose: bool = False):
        if cps <= 0 or time_scale <= 0 or price_delay < 0:
            raise ValueError("cps and time_scale must be positive, price_delay >= 0")
        codes = tuple(str(c).lstrip("+") for c in allowed_country_codes)
        if not all(c.isdigit() and len(c) <= 3 and c[0] != "0" for c in codes):
            raise ValueError(f"allowed_country_codes {list(allowed_country_codes)}: each must "
                             "be a country calling code of 1-3 digits, e.g. '1' or '+44'")
        self.config = Config(
            account_sid=account_sid, auth_token=auth_token, phone_numbers=list(phone_numbers),
            cps=cps, time_scale=time_scale, seed=seed, random_mix=random_mix,
            goal_variable=goal_variable, variables_delay_s=variables_delay,
            late_variables_s=late_variables, price_per_minute=price_per_minute,
            balance=balance, price_delay_s=price_delay, allowed_country_codes=codes,
            geo_refused_prefixes=geo_refusals(geo_refused_prefixes), created_at=clock())
        self.engine = Engine(self.config, clock)
        self.notifier = Notifier(self.engine, assistant_results_url, assistant_secret,
                                 on_variables)
        self.server = SandboxServer((host, port), self.engine, self.notifier)
        self.server.verbose = verbose
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="sandbox-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def account_sid(self) -> str:
        return self.config.account_sid

    @property
    def auth_token(self) -> str:
        return self.config.auth_token

    @property
    def phone_numbers(self) -> list:
        return list(self.config.phone_numbers)

    def start(self) -> "Sandbox":
        self.notifier.start()
        self._thread.start()
        return self

    def stop(self):
        self.server.stopping.set()  # releases requests hanging in a "timeout" fault
        if self._thread.is_alive():
            self.server.shutdown()
            self.notifier.stop()
        self.server.server_close()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def client(self, **http_client_options):
        """A real twilio Client whose api.twilio.com requests go to this sandbox."""
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token,
                        http_client=TwilioHttpClient(**http_client_options))
        client.api.base_url = self.url
        return client

    # -- in-process shortcuts (the same code paths as HTTP, minus the socket) -------------

    def create_call(self, **params) -> dict:
        """Create a call from Twilio parameter names (To=..., From=..., Url=...);
        handy to seed thousands of calls fast. Raises engine.TwilioError like the API."""
        form = {k: (list(v) if isinstance(v, (list, tuple)) else [str(v)])
                for k, v in params.items()}
        call = self.engine.create_call(form)
        with self.engine.lock:
            return call.to_twilio(self.engine.clock(), self.config.price_per_minute,
                                  just_created=True)

    def calls(self, to: Optional[str] = None) -> list:
        """The call log: every call ever created, oldest first (see README)."""
        return self.engine.log(to)

    def call(self, sid: str) -> dict:
        with self.engine.lock:
            return self.engine.get_call(sid).to_log(self.engine.clock(),
                                                    self.config.price_per_minute)

    def variables(self, sid: str) -> Optional[dict]:
        """The assistant's post-call variables once reported, else None."""
        return self.call(sid)["variables"]

    def set_faults(self, **faults) -> None:
        """Replace the fault set, e.g. set_faults(status_429=2), set_faults(rates={...},
        seed=7), or set_faults() to clear. Keys as POST /_sandbox/faults (see README)."""
        new = Faults.from_json(faults)
        with self.engine.lock:
            self.engine.faults = new

    def stats(self) -> dict:
        return self.engine.stats()

    def reset(self):
        self.engine.reset()
        self.notifier.clear()
