"""Every error outcall raises on purpose, under one base class. Each names what is wrong (the
file, key, line, field or Twilio code) and what is allowed, with phone numbers masked.
No Airflow, no I/O: rules, hooks, operators and the API all raise these.
"""
from __future__ import annotations

from outcall_provider.rules.phone import mask_phones_in_text
from outcall_provider.rules.twilio_errors import account_error_hint, destination_fix


class OutcallError(Exception):
    """Base class of outcall's own errors."""


class CampaignFileError(OutcallError, ValueError):
    """A campaign file breaks its contract; `errors` lists every problem, each naming the key
    and the allowed values."""

    def __init__(self, path: str, errors: list[str]):
        self.path = path
        self.errors = list(errors)
        super().__init__(f"{path}: " + "\n".join(self.errors))


class LeadFileError(OutcallError, ValueError):
    """The file as a whole cannot be read as leads (no header, missing or bad columns)."""

    def __init__(self, source: str, errors: list[str]):
        # A file without a header shows its first lead as column names: no full number in errors.
        self.source, self.errors = source, [mask_phones_in_text(e) for e in errors]
        self.report = None  # the stored import report, once there is one
        super().__init__(f"{source}: " + "; ".join(self.errors))


class ResultsTableError(OutcallError):
    """A campaign's results table cannot take outcall's rows (missing columns, wrong types, no
    key to upsert on); names each column at fault."""


class PreflightError(OutcallError):
    """A campaign that cannot start; names every problem at once."""


class LeadBusy(OutcallError):
    """A person asked for something that would call a lead twice at once."""


class CallNotPlaced(OutcallError):
    """Twilio refused the call because of this contact: its number (a number-specific code
    such as 21211) or its destination (geo permissions, a TwiML too long: 21215, 32018, ...).
    Skip the contact; the other leads are dialed (rules/twilio_errors.py)."""

    def __init__(self, code: int | None, message: str):
        super().__init__(f"Twilio {code}: {message}")
        self.code, self.message = code, message


class TwilioAccountError(OutcallError):
    """Twilio refused the call for a reason of the account or the campaign (caller ID not
    owned, bad URL, authentication, …): every call would fail the same way, so the dialer
    stops and a person fixes the cause. No number is to blame."""

    def __init__(self, code: int | None, status: int, message: str):
        self.code, self.status, self.message = code, status, message
        super().__init__(f"Twilio refused the call with HTTP {status}, code {code}: {message}. "
                         f"{account_error_hint(code)}")


class DestinationsRefused(TwilioAccountError):
    """Every call of a dial batch was refused with the same per-destination code (e.g. 21215
    for each): the account probably lacks the permission for everything it dials. The refused
    contacts were skipped like any other refusal; the dial fails so a person fixes the cause."""

    def __init__(self, code: int | None, calls: int):
        self.code, self.status, self.calls = code, 400, calls
        self.message = (f"Twilio refused all {calls} calls of this dial batch with code {code}, so the account, "
                        f"not these leads, is probably at fault: {destination_fix(code)}. "
                        f"https://www.twilio.com/docs/errors/{code}")
        OutcallError.__init__(self, self.message)


class CallOutcomeUnknown(OutcallError):
    """The create request failed in a way that may or may not have placed the call (5xx,
    timeout, dropped connection). Resolve by listing, never by creating again."""
