"""Checking the assistant's post-call variables against the campaign's declared types (pure)."""
from __future__ import annotations

import json
import math

_CHECKS = {
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
}
MAX_STRING = 10_000


def check(values: dict, declared: dict[str, str] | None) -> list[str]:
    """Problems with `values` ([] = fine). A null means "not reported" and is allowed; a name the
    campaign does not declare is refused, so a misspelt goal variable is noticed, not lost.
    declared=None (campaign not known yet): any boolean, number or string is accepted."""
    problems = []
    for name, value in values.items():
        kind = declared.get(name) if declared is not None else None
        if declared is None:
            if value is not None and not any(ok(value) for ok in _CHECKS.values()):
                problems.append(f"{name}: {json_type(value)} given, boolean, number or string expected")
        elif kind is None:
            problems.append(f"{name}: not a post-call variable of this campaign "
                            f"(declared: {', '.join(sorted(declared)) or 'none'})")
        elif value is not None and not _CHECKS[kind](value):
            problems.append(f"{name}: {json_type(value)} given, {kind} expected")
        elif isinstance(value, str) and len(value) > MAX_STRING:
            problems.append(f"{name}: longer than {MAX_STRING} characters")
    return problems


def json_type(value) -> str:
    for kind, ok in _CHECKS.items():
        if ok(value):
            return kind
    return "null" if value is None else type(value).__name__


class _NotFinite:
    """Stands in for NaN/Infinity (and numbers too large for a float) while parsing, so the
    refusal can name the field it was in."""

    def __init__(self, text: str):
        self.text = text


def _parse_float(text: str):
    value = float(text)
    return value if math.isfinite(value) else _NotFinite(text)


def parse(body: bytes):
    """JSON as RFC 8259 has it: NaN, Infinity and -Infinity (which Python's json accepts) and
    numbers beyond a float stay _NotFinite markers for `refused` to report. ValueError if not JSON."""
    return json.loads(body, parse_constant=_NotFinite, parse_float=_parse_float)


def refused(value, path: str = "") -> list[str]:
    """Problems no store can keep, each naming its field: non-finite numbers and NUL characters
    (PostgreSQL's jsonb cannot hold \\u0000), in keys or values, at any depth."""
    problems = []
    if isinstance(value, _NotFinite):
        problems.append(f"{path or 'body'}: {value.text} is not allowed (numbers must be finite)")
    elif isinstance(value, str) and "\x00" in value:
        problems.append(f"{path or 'body'}: contains a NUL character (\\u0000), which is not allowed")
    elif isinstance(value, dict):
        for key, item in value.items():
            field = f"{path}.{key}" if path else key
            if "\x00" in key:
                field = f"{path}[{json.dumps(key)}]" if path else json.dumps(key)
                problems.append(f"{field}: the name contains a NUL character (\\u0000), which is not allowed")
            problems += refused(item, field)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problems += refused(item, f"{path}[{i}]")
    return problems
