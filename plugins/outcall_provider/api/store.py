"""The campaign store for web requests: one CampaignHook (one connection) per server thread.

FastAPI runs sync routes on a thread pool; a psycopg connection must not be shared between
threads, and opening one per request would cost more than most page queries.
"""
from __future__ import annotations

import threading
from typing import Iterator

_local = threading.local()


def thread_hook():
    """This thread's CampaignHook, with no transaction left open by an earlier request."""
    from outcall_provider.hooks.campaign import CampaignHook

    hook = getattr(_local, "hook", None)
    if hook is None:
        hook = _local.hook = CampaignHook()
    hook.db.rollback()  # a request that failed may have left its transaction aborted
    return hook


def store() -> Iterator:
    """FastAPI dependency (sync, so it runs on the same pool thread as a sync route)."""
    hook = thread_hook()
    try:
        yield hook
    except Exception:
        hook.db.rollback()
        raise
