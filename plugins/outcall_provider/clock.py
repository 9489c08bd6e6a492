"""The one clock. Decisions take `now` from here and pass it on (into rules and SQL).

`OUTCALL_NOW` (an ISO time) pins the clock for replays and dry runs.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone


def now() -> datetime:
    pinned = os.environ.get("OUTCALL_NOW")
    if pinned:
        return parse_time(pinned)
    return datetime.now(timezone.utc)


def parse_time(text: str) -> datetime:
    """An ISO time; a time without offset is read as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
