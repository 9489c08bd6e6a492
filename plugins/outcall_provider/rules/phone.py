"""Phone number normalisation to E.164, and masking for logs.

normalize_phone sits on the lead-import hot path (millions of rows), so it does exactly one
phonenumbers.parse and one is_valid_number; everything else runs only when a number is rejected.
"""
from __future__ import annotations

import re

from phonenumbers import (
    SUPPORTED_REGIONS,
    NumberParseException,
    is_valid_number,
    parse,
    region_code_for_country_code,
)

_PARSE_REASONS = {
    NumberParseException.NOT_A_NUMBER: "not a number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


class InvalidPhone(ValueError):
    def __init__(self, raw, reason: str):
        super().__init__(f"{raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Return `raw` as E.164 ('+14155550100') or raise InvalidPhone.

    Common separators (spaces, dashes, dots, parentheses) are accepted. A number without a
    leading '+' is read as national to `default_region`; without one it is rejected.
    """
    if not raw or raw.isspace():
        raise InvalidPhone(raw, "empty")
    try:
        number = parse(raw, default_region)
    except NumberParseException as e:
        raise InvalidPhone(raw, _parse_reason(e, raw, default_region)) from None
    if not is_valid_number(number):
        region = region_code_for_country_code(number.country_code)
        raise InvalidPhone(raw, f"invalid number for region {region}")
    if number.extension:
        # A dialer cannot key in an extension; calling the trunk would reach the wrong person.
        raise InvalidPhone(raw, "extensions are not supported")
    if number.italian_leading_zero:
        zeros = "0" * (number.number_of_leading_zeros or 1)
        return f"+{number.country_code}{zeros}{number.national_number}"
    return f"+{number.country_code}{number.national_number}"


def _parse_reason(e: NumberParseException, raw: str, default_region: str | None) -> str:
    if e.error_type != NumberParseException.INVALID_COUNTRY_CODE:
        return _PARSE_REASONS.get(e.error_type, "not a number")
    if raw.lstrip()[:1] in ("+", "\uff0b"):
        return "unknown country code"
    if default_region is None:
        return "national number without default_region"
    if default_region not in SUPPORTED_REGIONS:
        return f"unknown default_region {default_region}"
    return "unknown country code"


def mask_phone(e164: str) -> str:
    """'+14155550100' -> '+*******0100': logs keep only the last 4 digits."""
    if not e164:
        return ""
    body = e164[1:] if e164[0] == "+" else e164
    hidden = max(len(body) - 4, 0)
    return ("+" if e164[0] == "+" else "") + "*" * hidden + body[hidden:]


# A run of 7+ digits, optionally with a leading '+' and common separators inside it.
_PHONE_IN_TEXT = re.compile(r"\+?\d(?:[\s().-]?\d){6,}")


def mask_phones_in_text(text: str) -> str:
    """Mask every phone-like digit run in free text (database errors, rejected rows) to its
    last 4 digits, so no full number reaches a log, an error or the CLI."""
    if not text:
        return text
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"[^\d+]", "", m.group(0))), text)
