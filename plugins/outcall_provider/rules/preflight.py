"""Whether a campaign may start dialing, from facts the hooks gathered. Only what stops every
call of the campaign blocks it; a lead that cannot be dialed is skipped, so it only warns."""
from __future__ import annotations

from dataclasses import dataclass

from .phone import mask_phone

BALANCE_NOT_REPORTED = ("the balance is not reported for this account (a subaccount's balance is its "
                        "parent's); the floor is not checked")


@dataclass(frozen=True)
class PreflightFacts:
    caller_ids: tuple[str, ...]  # the assistant's pool
    not_owned: tuple[str, ...]   # numbers of the pool the account does not have
    account_sid: str
    twilio_conn_id: str
    balance: float | None  # None: Twilio does not report it (a subaccount's Balance may be null)
    currency: str
    min_balance: float  # the Twilio connection's `min_balance` extra
    leads: int
    undialable_leads: int  # leads whose every number Twilio refused


@dataclass(frozen=True)
class PreflightResult:
    problems: tuple[str, ...]  # each blocks the campaign
    warnings: tuple[str, ...]  # each is logged; the campaign runs

    @property
    def passed(self) -> bool:
        return not self.problems


def check(f: PreflightFacts) -> PreflightResult:
    problems, warnings = [], []
    for number in f.not_owned:
        key = "assistant.phone_number" if len(f.caller_ids) == 1 else "assistant.phone_numbers"
        problems.append(f"{key} {mask_phone(number)} does not belong to the Twilio account "
                        f"{f.account_sid} (connection {f.twilio_conn_id})")
    if f.balance is None:
        warnings.append(BALANCE_NOT_REPORTED)
    elif f.balance < f.min_balance:
        problems.append(f"the Twilio balance is {f.balance:.2f} {f.currency}, below the floor of {f.min_balance:.2f}")
    if not f.leads:
        problems.append("the campaign has no leads (leads.csv or leads.sql gave none)")
    elif f.undialable_leads >= f.leads:
        problems.append(f"none of the campaign's {f.leads} leads has a dialable phone number "
                        "(Twilio refused every primary and secondary number)")
    elif f.undialable_leads:
        warnings.append(f"{f.undialable_leads} of {f.leads} leads have no dialable phone number (Twilio refused "
                        "every number of theirs); they are skipped, the other leads are dialed")
    return PreflightResult(tuple(problems), tuple(warnings))


def balance_text(balance: float | None, currency: str) -> str:
    """The balance as the preflight and the connection test say it."""
    return "balance not reported" if balance is None else f"balance {balance:.2f} {currency}"
