"""Named SQL files shipped inside the package: queries/NAME.sql and migrations/NNN_*.sql.

Loaded with importlib.resources, so an installed provider (a wheel, no source tree) has them.
A query may inline another as a subquery by naming it: `{{lead_hold_facts}}`.
Queries name the vocabulary instead of spelling it: `{{LeadStatus.PROCESSING}}` becomes
`'processing'` and `{{WAITING_LEAD_STATUSES}}` becomes `('created', 'rescheduled')` when the
file is loaded, from rules/states.py. The planner still sees plain literals, so partial
indexes on a status still serve. Migrations are history and keep their literals; a test
checks that the schema agrees with rules/states.py.
"""
from __future__ import annotations

import functools
import re
from enum import Enum
from importlib.resources import files

from outcall_provider.rules import states

_NAME = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z_.]*)\s*\}\}")


def _vocabulary() -> dict[str, str]:
    words: dict[str, str] = {}
    for enum in (states.LeadStatus, states.CallStatus, states.CampaignStatus):
        for member in enum:
            words[f"{enum.__name__}.{member.name}"] = _literal(member.value)
    for name in ("WAITING_LEAD_STATUSES", "TERMINAL_LEAD_STATUSES", "TERMINAL_CALL_STATUSES"):
        words[name] = "(" + ", ".join(_literal(v) for v in getattr(states, name)) + ")"
    return words


def _literal(value: str | Enum) -> str:
    value = value.value if isinstance(value, Enum) else value
    assert "'" not in value, value
    return f"'{value}'"


def _expand(name: str, text: str) -> str:
    words = _vocabulary()

    def word(match: re.Match) -> str:
        if match.group(1) in query_names():  # another named query, inlined as a subquery
            return query(match.group(1))
        if match.group(1) not in words:
            raise KeyError(f"sql/queries/{name}.sql: unknown word {{{{{match.group(1)}}}}}; "
                           f"known: {', '.join(sorted(words))}")
        return words[match.group(1)]

    return _NAME.sub(word, text)


@functools.cache
def query(name: str) -> str:
    return _expand(name, files(__name__).joinpath("queries", f"{name}.sql").read_text(encoding="utf-8"))


def query_names() -> list[str]:
    return sorted(f.name.removesuffix(".sql") for f in files(__name__).joinpath("queries").iterdir()
                  if f.name.endswith(".sql"))


def migrations() -> list[tuple[str, str]]:
    folder = files(__name__).joinpath("migrations")
    found = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in found]
