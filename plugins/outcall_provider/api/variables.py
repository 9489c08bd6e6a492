"""Checking the assistant's post-call variables against the campaign's declared types (pure)."""
from __future__ import annotations

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
