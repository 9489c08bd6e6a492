"""Which number of the assistant's pool calls a callee (assistant.caller_id). Pure.

`local`: a number of the callee's area code, else of one of the callee's states, else any, since
people answer local numbers. `round_robin`: any. Either way the pool number with the fewest calls
today is taken (ties: pool order), which spreads calls without keeping a cursor, and a number at
its daily cap is never taken, so no number of the pool is flagged as spam for its volume.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import phonenumbers


@dataclass(frozen=True)
class CallerChoice:
    number: str | None  # None: every number of the pool is at its daily cap
    why: str


def choose(pool: Iterable[str], strategy: str, callee: str, callee_states: Iterable[str],
           calls_today: Mapping[str, int], daily_cap: int | None,
           states_of: Callable[[str], tuple[str, ...]]) -> CallerChoice:
    """`states_of(number)`: the US states of a number's area code (rules/state_rules.area_code_states)."""
    pool = list(pool)
    free = [n for n in pool if daily_cap is None or calls_today.get(n, 0) < daily_cap]
    if not free:
        return CallerChoice(None, f"every caller ID of the pool made its {daily_cap} calls today")
    tiers: list[tuple[str, list[str]]] = []
    if strategy == "local":
        area = _area_code(callee)
        states = set(callee_states)
        tiers.append((f"local: area code {area}", [n for n in free if area and _area_code(n) == area]))
        tiers.append((f"local: state {', '.join(sorted(states))}", [n for n in free if states & set(states_of(n))]))
        tiers.append(("local: no number of the callee's area code or state; any", free))
    else:
        tiers.append(("round_robin", free))
    for why, numbers in tiers:
        if numbers:
            number = min(numbers, key=lambda n: (calls_today.get(n, 0), pool.index(n)))
            return CallerChoice(number, f"{why} ({calls_today.get(number, 0)} calls today)")
    raise AssertionError("unreachable: the last tier is every free number")


def _area_code(number: str) -> str | None:
    """The NANP area code of a +1 number (None for other countries)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    return str(parsed.national_number)[:3] if parsed.country_code == 1 else None
