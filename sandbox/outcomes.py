"""The outcome table: the called number decides what happens to a call, like test card numbers.

Pure functions only (no clock, no I/O), so the table is easy to read and to test.
The 4th digit from the end of the `To` number picks the row (…0000-…0999 is row 0, and so on).
"""
import random
import re
from dataclasses import dataclass
from typing import Optional

E164 = re.compile(r"^\+[1-9]\d{7,14}$")

NANP = re.compile(r"^\+1[2-9]\d{2}[2-9]\d{6}$")  # +1 NXX NXX XXXX

# Valid-looking numbers that Twilio refuses at create time: prefix -> (error code, message).
# 907, 808 and 406 are real area codes (so outcall's own number check lets them through)
# that no test data uses; only these exact prefixes are refused.
REJECTED_PREFIXES = {
    "+1555": (21211, "Invalid 'To' Phone Number: {to}"),  # area code 555 does not exist
    "+1900": (13224, "Twilio does not support calling this number or the number is invalid"),
    "+1907": (21214, "'To' phone number cannot be reached"),
    "+1808": (21217, "Phone number does not appear to be valid"),
    "+1406": (13223, "Dial: Invalid phone number format"),
}
GEO_MESSAGE = ("Account not authorized to call {to}. Perhaps you need to enable some "
               "international permissions: "
               "https://www.twilio.com/console/voice/calls/geo-permissions/low-risk")
# Twilio's geo-permission refusals; each refuses one destination prefix, not the account.
GEO_MESSAGES = {
    21215: GEO_MESSAGE,
    13227: "Geo Permission configuration is not permitting call to {to}",
    32205: "Geo Permission configuration is not permitting call to {to}",
}
GEO_CODES = tuple(GEO_MESSAGES)
PREFIX = re.compile(r"^\+\d{1,15}$")
TWIML_MAX = 4000  # characters of the Twiml parameter Twilio accepts
TWIML_TOO_LONG = (32018, "Twiml size exceeded maximum allowed value of 4000 characters")

ROWS = {
    "0": "human_goal_met",
    "1": "human_goal_not_met",
    "2": "voicemail",
    "3": "busy",
    "4": "no_answer",
    "5": "failed",
    "6": "human_late_variables",
    "7": "fax",
    "8": "human_goal_on_second_call",
    "9": "random",
}

# --random-mix (and row 9): a plausible campaign, as weights in percent.
RANDOM_MIX = {
    "human_goal_met": 20,
    "human_goal_not_met": 25,
    "voicemail": 20,
    "busy": 8,
    "no_answer": 20,
    "failed": 2,
    "human_late_variables": 5,
}

HUMAN_ROWS = {"human_goal_met", "human_goal_not_met", "human_late_variables",
              "human_goal_on_second_call"}

SUMMARY_MET = "Booked an appointment for next Tuesday at 10:00."
SUMMARY_NOT_MET = "Talked to the lead; not interested in an appointment right now."
SUMMARY_CALL_BACK = "Lead asked to be called back later."


@dataclass(frozen=True)
class Plan:
    """What will happen once the call leaves the queue. Times are simulated seconds."""

    outcome: str                 # row name
    status: str                  # final Twilio status
    answered_by: Optional[str]   # AMD verdict, None when MachineDetection was not requested
    ring_s: float                # from start until answer (or until giving up)
    talk_s: int                  # from answer until hang-up; 0 when not answered
    goal: Optional[bool]         # goal variable; None = the assistant reports nothing
    summary: Optional[str]
    variables_delay_s: float     # after the call ends until the assistant reports


def rejection(to: str, allowed_country_codes=("1",), geo_refused_prefixes=None) -> Optional[tuple]:
    """(code, message) when Twilio would refuse to dial `to`, else None. Checked in this
    order: the format (E.164; +1 numbers as NANP), the account's geo permissions (the country
    calling codes it may call, then the destination prefixes it may not: prefix -> 21215,
    13227 or 32205, the longest prefix first), then the refused prefixes."""
    if not to or not E164.match(to) or (to.startswith("+1") and not NANP.match(to)):
        return 21211, f"Invalid 'To' Phone Number: {to}"
    if not any(to.startswith("+" + code) for code in allowed_country_codes):
        return 21215, GEO_MESSAGE.format(to=to)
    for prefix in sorted(geo_refused_prefixes or {}, key=len, reverse=True):
        if to.startswith(prefix):
            code = geo_refused_prefixes[prefix]
            return code, GEO_MESSAGES[code].format(to=to)
    for prefix, (code, message) in REJECTED_PREFIXES.items():
        if to.startswith(prefix):
            return code, message.format(to=to)
    return None


def geo_refusals(prefixes) -> dict:
    """`prefixes` as a dict prefix -> code: a list of prefixes (each 21215) or a mapping
    prefix -> 21215, 13227 or 32205. Raises ValueError naming what is allowed."""
    pairs = prefixes.items() if hasattr(prefixes, "items") else ((p, 21215) for p in prefixes)
    refused = {}
    for prefix, code in pairs:
        prefix = str(prefix)
        if not PREFIX.match(prefix):
            raise ValueError(f"geo-refused prefix {prefix!r}: a destination prefix is '+' and 1-15 digits, "
                             "e.g. '+1264' or '+4470'")
        if int(code) not in GEO_CODES:
            raise ValueError(f"geo-refused prefix {prefix}: code {code!r}; allowed: "
                             f"{', '.join(map(str, GEO_CODES[:-1]))} or {GEO_CODES[-1]}")
        refused[prefix] = int(code)
    return refused


def row_for(to: str) -> str:
    return ROWS[to[-4]]


def plan_call(to: str, attempt: int, *, seed: int, random_mix: bool,
              machine_detection: Optional[str], timeout: int,
              variables_delay_s: float = 5, late_variables_s: float = 300) -> Plan:
    """Plan the call to `to`; `attempt` counts earlier calls to the same number (0 = first).

    Seeded per (seed, number, attempt) so the result does not depend on creation order.
    """
    rng = random.Random(f"{seed}|{to}|{attempt}")
    row = row_for(to)
    if random_mix or row == "random":
        rows, weights = zip(*RANDOM_MIX.items())
        row = rng.choices(rows, weights)[0]

    # Answered rows always answer within the caller's Timeout, so the table stays exact.
    ring = min(rng.uniform(4, 15), timeout * 0.8)
    if row in HUMAN_ROWS:
        goal = {"human_goal_met": True, "human_goal_not_met": False,
                "human_late_variables": True,
                "human_goal_on_second_call": attempt >= 1}[row]
        summary = SUMMARY_MET if goal else (
            SUMMARY_CALL_BACK if row == "human_goal_on_second_call" else SUMMARY_NOT_MET)
        delay = late_variables_s if row == "human_late_variables" else variables_delay_s
        return Plan(row, "completed", _amd(machine_detection, "human"), ring,
                    rng.randint(30, 180), goal, summary, delay)
    if row == "voicemail":
        kind = {"7": "machine_end_silence", "8": "machine_end_other",
                "9": "unknown"}.get(to[-3], "machine_end_beep")
        ring = min(rng.uniform(15, 25), timeout * 0.8)  # voicemail picks up late
        return Plan(row, "completed", _amd(machine_detection, kind), ring,
                    rng.randint(20, 45), None, None, 0)
    if row == "fax":
        return Plan(row, "completed", _amd(machine_detection, "fax"), ring,
                    rng.randint(3, 8), None, None, 0)
    if row == "busy":
        return Plan(row, "busy", None, rng.uniform(2, 6), 0, None, None, 0)
    if row == "no_answer":
        return Plan(row, "no-answer", None, float(timeout), 0, None, None, 0)
    return Plan(row, "failed", None, 1.0, 0, None, None, 0)


def _amd(machine_detection: Optional[str], kind: str) -> Optional[str]:
    """What Twilio reports in answered_by: nothing without AMD; 'Enable' only says machine_start."""
    if not machine_detection:
        return None
    if kind.startswith("machine_") and machine_detection != "DetectMessageEnd":
        return "machine_start"
    return kind
