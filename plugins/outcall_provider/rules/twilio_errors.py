"""What a Twilio error code says: a bad number, a destination refused, or a problem of the
account or the campaign.

- A number-specific code marks the contact invalid for good ("invalid number (Twilio 21211)";
  a re-import keeps that mark).
- A per-destination refusal blames that lead's destination or data, not the account: the
  account's geographic permissions refuse one destination prefix (21215, 13227, 32205), or the
  lead's TwiML is over Twilio's 4,000 characters (32018). The contact is skipped with a reason
  of its own ("Twilio 21215: ..."), which a re-import or a reset to `created` clears, and the
  dialer goes on. Only when every call of a dial batch is refused alike (`refused_alike`) is
  the account probably at fault, and the dial fails naming the code and the fix.
- Everything else (caller ID not owned, bad URL, authentication, ...) would be the same for
  every lead, so it stops the dialer instead of burning through the lead list.
"""
from __future__ import annotations

import re

# The outcome reasons of a contact Twilio refused (rules/outcome.decide_unreachable): its
# number, or its destination.
INVALID_NUMBER = "invalid_number"
DESTINATION_REFUSED = "destination_refused"

# The `To` number itself is bad: never dial this contact again.
NUMBER_ERROR_CODES = frozenset({
    13223,  # phone number format is invalid
    13224,  # the number is invalid or Twilio does not support calling it
    21211,  # invalid 'To' phone number
    21214,  # 'To' phone number cannot be reached
    21217,  # phone number does not appear to be valid
    21401,  # invalid phone number
    21407,  # this phone number type does not support voice
    21421,  # phone number is invalid
    21610,  # the number has unsubscribed (STOP)
    21612,  # cannot route to this number
    21614,  # 'To' number is not a valid mobile/landline number
})

# Codes whose fix belongs to the account or the campaign file, and what to do about them.
ACCOUNT_ERROR_HINTS = {
    20003: "authentication failed: check the Account SID and Auth Token of the Twilio connection",
    20404: "the account or resource was not found: check the Account SID of the Twilio connection",
    21205: "Twilio refused the assistant's URL: check assistant.voice_url / stream_url in the campaign file",
    21210: "the caller ID is not owned or verified by this Twilio account: check assistant.phone_number",
}


# A destination refused: (why, in the contact's mark; what to do, when a whole batch is refused).
_GEO_FIX = ("enable the destinations' countries (and their high-risk number prefixes, if needed) in the "
            "Twilio console, Voice > Settings > Geo permissions, then set the skipped leads back to created")
DESTINATION_ERROR_HINTS = {
    21215: ("the account's geographic permissions do not allow this destination", _GEO_FIX),
    13227: ("the account's geographic permissions do not allow this destination", _GEO_FIX),
    32205: ("the account's geographic permissions do not allow this destination", _GEO_FIX),
    32018: ("the call's TwiML is over Twilio's 4,000 characters (the lead's variables are too long)",
            "shorten the lead variables (every variable is sent as a <Parameter> of the media stream) "
            "or use assistant.voice_url, then set the skipped leads back to created"),
}
# Fewer refusals than this in a dial batch say nothing about the account: a lead or two
# abroad, dialed alone at the end of a tick, are skipped like any other.
MIN_ALIKE_REFUSALS = 3


def is_number_error(code: int | None) -> bool:
    return code in NUMBER_ERROR_CODES


def is_destination_error(code: int | None) -> bool:
    return code in DESTINATION_ERROR_HINTS


def blames_the_contact(code: int | None) -> bool:
    """The refusal is this contact's (its number or its destination): skip it, dial the others."""
    return is_number_error(code) or is_destination_error(code)


def refusal_reason(code: int | None) -> str:
    """The mark a refused contact gets: a bad number's, or a refused destination's own."""
    if is_destination_error(code):
        return f"Twilio {code}: {DESTINATION_ERROR_HINTS[code][0]}"
    return f"invalid number (Twilio {code})"


def refusal_outcome(code: int | None) -> str:
    """The outcome reason of the refused attempt and its lead (rules/outcome.decide_unreachable)."""
    return DESTINATION_REFUSED if is_destination_error(code) else INVALID_NUMBER


def refused_alike(attempted: int, refusals: list[int | None]) -> int | None:
    """The per-destination code every call of a dial batch was refused with (`attempted`: the
    creates tried, `refusals`: the codes of those refused), when there were enough of them to
    say the account, not these leads, lacks the permission; else None."""
    codes = set(refusals)
    if attempted < MIN_ALIKE_REFUSALS or len(refusals) != attempted or len(codes) != 1:
        return None
    (code,) = codes
    return code if is_destination_error(code) else None


def destination_fix(code: int | None) -> str:
    why, fix = DESTINATION_ERROR_HINTS.get(code, ("a refusal of these destinations", "check the Twilio console"))
    return f"{why}: {fix}"


def account_error_hint(code: int | None) -> str:
    return ACCOUNT_ERROR_HINTS.get(code, "a problem of the Twilio account or the campaign, not of one number")


_MARK_CODE = re.compile(r"Twilio (\d+)")


def mark_is_number_error(reason: str | None) -> bool:
    """Whether an invalid-contact mark (e.g. 'invalid number (Twilio 21211)') names a
    number-specific code; marks written by the old rule for account codes are not."""
    m = _MARK_CODE.search(reason or "")
    return bool(m) and int(m.group(1)) in NUMBER_ERROR_CODES
