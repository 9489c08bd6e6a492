"""The one clock. Decisions take `now` from here and pass it on (into rules and SQL).

`OUTCALL_NOW` (an ISO time) pins the clock for replays and dry runs. With `OUTCALL_NOW_SINCE`
(a Unix time) the clock runs on from OUTCALL_NOW as from that real moment: a whole stack replays
a chosen hour (callee-local hours at 07:58 in California) while Airflow keeps its own clock.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone


def now() -> datetime:
    pinned = os.environ.get("OUTCALL_NOW")
    if pinned:
        since = os.environ.get("OUTCALL_NOW_SINCE")
        moved = timedelta(seconds=time.time() - float(since)) if since else timedelta(0)
        return parse_time(pinned) + moved
    return datetime.now(timezone.utc)


def parse_time(text: str) -> datetime:
    """An ISO time; a time without offset is read as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
