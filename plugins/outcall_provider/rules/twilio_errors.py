"""What a Twilio error code says: a bad number, or a problem of the account or the campaign.

Only number-specific codes may mark a contact invalid. Everything else (caller ID not owned,
bad URL, geo permissions, authentication, …) would be the same for every lead, so it must stop
the dialer instead of burning through the lead list.
"""
from __future__ import annotations

import re

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
    21215: "the account's geographic permissions do not allow calling this country: enable it in the Twilio console",
}


def is_number_error(code: int | None) -> bool:
    return code in NUMBER_ERROR_CODES


def account_error_hint(code: int | None) -> str:
    return ACCOUNT_ERROR_HINTS.get(code, "a problem of the Twilio account or the campaign, not of one number")


_MARK_CODE = re.compile(r"Twilio (\d+)")


def mark_is_number_error(reason: str | None) -> bool:
    """Whether an invalid-contact mark (e.g. 'invalid number (Twilio 21211)') names a
    number-specific code; marks written by the old rule for account codes are not."""
    m = _MARK_CODE.search(reason or "")
    return bool(m) and int(m.group(1)) in NUMBER_ERROR_CODES
