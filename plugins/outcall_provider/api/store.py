"""The campaign stores for web requests: one CampaignHook (one connection) per server thread
and store connection.

Each campaign keeps its leads in the store its file names (`connections.db_conn_id`, default
`outcall_db`). FastAPI runs sync routes on a thread pool; a psycopg connection must not be shared
between threads, and opening one per request would cost more than most page queries.
"""
from __future__ import annotations

import logging
import threading
from typing import Iterator

from fastapi import Request

from outcall_provider import campaign_files
from outcall_provider.rules.campaign import CampaignFileError

DEFAULT_DB_CONN_ID = "outcall_db"
log = logging.getLogger(__name__)
_local = threading.local()


def thread_hook(conn_id: str = DEFAULT_DB_CONN_ID):
    """This thread's CampaignHook on `conn_id`, with no transaction left open by an earlier request."""
    from outcall_provider.hooks.campaign import CampaignHook

    hooks = getattr(_local, "hooks", None)
    if hooks is None:
        hooks = _local.hooks = {}
    hook = hooks.get(conn_id)
    if hook is None:
        hook = hooks[conn_id] = CampaignHook(conn_id)
    hook.db.rollback()  # a request that failed may have left its transaction aborted
    return hook


def store_conn_ids(campaigns=None) -> list[str]:
    """Every store a campaign file (or one of `campaigns`) uses, the default store first (it keeps
    campaigns whose file was removed). Invalid files are skipped: they show as DAG import errors."""
    campaigns = campaign_files.cached_campaigns() if campaigns is None else campaigns
    return list(dict.fromkeys([DEFAULT_DB_CONN_ID, *(c.db_conn_id for c in campaigns)]))


def campaign_conn_id(name: str) -> str:
    """The store of the campaign file `name` (the default store if there is no such file)."""
    path = campaign_files.campaign_path(name)
    try:
        return campaign_files.load_campaign_cached(path).db_conn_id if path else DEFAULT_DB_CONN_ID
    except CampaignFileError:
        return DEFAULT_DB_CONN_ID


def store(request: Request) -> Iterator:
    """FastAPI dependency (sync, so it runs on the same pool thread as a sync route): the store
    of the campaign named in the path, else the default store."""
    name = request.path_params.get("name")
    hook = thread_hook(campaign_conn_id(name) if name else DEFAULT_DB_CONN_ID)
    try:
        yield hook
    except Exception:
        hook.db.rollback()
        raise
