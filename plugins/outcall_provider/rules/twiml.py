"""What outcall hands the assistant on a call, and how much of Twilio's TwiML it may fill (pure).

A `voice_url` call carries only outcall's own ids (OUTCALL_PARAMETERS) in its query string:
Twilio and the assistant log URLs, so lead data never goes there; the assistant reads the lead
by its id through outcall's API. A `stream_url` call is TwiML outcall writes itself, a
<Connect><Stream> whose <Parameter>s are outcall's ids and then the lead's variables. Twilio
refuses a call whose TwiML is longer than TWIML_MAX_CHARS characters (error 32018), so an import
refuses a lead whose variables would not fit (`TwimlBudget`).
"""
from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

LEAD_ID, CAMPAIGN = "lead_id", "campaign"
# The names outcall itself gives the assistant on every call: a lead variable may not take one.
OUTCALL_PARAMETERS = (LEAD_ID, CAMPAIGN)
TWIML_MAX_CHARS = 4000     # Twilio: "Twiml size exceeded maximum allowed value of 4000 characters"
TWIML_TOO_LONG = 32018     # ... its error code
# Lead ids are bigserial: the longest id a lead can ever get, for a size that holds for any lead.
LONGEST_LEAD_ID = str(2**63 - 1)


def call_parameters(lead_id: int | str, campaign: str) -> dict[str, str]:
    """outcall's ids for one call, in the order they are sent."""
    return {LEAD_ID: str(lead_id), CAMPAIGN: campaign}


def stream_parameters(ids: dict, variables: dict | None) -> dict[str, str]:
    """A stream's <Parameter>s: outcall's ids first; a variable never replaces one."""
    params = {k: str(v) for k, v in ids.items()}
    for name, value in (variables or {}).items():
        if name not in params:
            params[name] = str(value)
    return params


def _parameter(name: str, value: str) -> str:
    return f"<Parameter name={quoteattr(name)} value={quoteattr(value)}/>"


def stream_twiml(stream_url: str, ids: dict, variables: dict | None = None) -> str:
    """<Connect><Stream> to the assistant's media stream, outcall's ids and the lead's variables
    as <Parameter>s (values XML-escaped)."""
    params = "".join(_parameter(k, v) for k, v in stream_parameters(ids, variables).items())
    return f"<Response><Connect><Stream url={quoteattr(stream_url)}>{params}</Stream></Connect></Response>"


@dataclass(frozen=True)
class TwimlBudget:
    """The TwiML of a stream campaign's calls: what outcall's part takes and what a lead adds."""

    stream_url: str
    campaign: str

    @property
    def overhead(self) -> int:
        """Characters of the TwiML with no lead variable, for the longest lead id there can be."""
        return len(stream_twiml(self.stream_url, call_parameters(LONGEST_LEAD_ID, self.campaign)))

    def size(self, variables: dict) -> int:
        """Characters of a call's TwiML with these variables, at the longest lead id."""
        return len(stream_twiml(self.stream_url, call_parameters(LONGEST_LEAD_ID, self.campaign), variables))

    def too_long(self, variables: dict) -> tuple[str, int] | None:
        """None if a call with these variables fits; else (the variable taking the most room,
        the TwiML's size in characters)."""
        size = self.size(variables)
        if size <= TWIML_MAX_CHARS:
            return None
        sent = {k: v for k, v in variables.items() if k not in OUTCALL_PARAMETERS}
        blamed = max(sent, key=lambda k: len(_parameter(k, str(sent[k]))))
        return blamed, size


def twiml_budget(stream_url: str | None, campaign: str) -> TwimlBudget | None:
    """The budget of a campaign's calls; None for a voice_url campaign (its TwiML is the assistant's)."""
    return TwimlBudget(stream_url, campaign) if stream_url else None
