"""GET /outcall/webhooks/dags/paused: which campaign DAGs are paused, for outcall's dialers in
Airflow's triggerer.

A trigger cannot ask Airflow itself: it has no metadata database, and the triggerer offers no
DAG lookup. So it asks the API server, here, showing a token signed with Airflow's own key
(dialer_token.py). Only campaign DAGs are answered.
"""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from outcall_provider import campaign_files, dialer_token
from outcall_provider.api import airflow_access

log = logging.getLogger(__name__)
router = APIRouter()


@router.get(dialer_token.PAUSED_PATH.removeprefix("/outcall/webhooks"),
            summary="Which campaign DAGs are paused (for outcall's dialers)")
async def dags_paused(request: Request, dag_id: Annotated[list[str] | None, Query()] = None) -> dict[str, bool]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token:
            raise ValueError("no bearer token")
        await dialer_token.validator().avalidated_claims(token)
    except Exception as e:  # same answer whatever failed
        log.warning("dag paused states refused: %s", type(e).__name__)
        raise HTTPException(403, "token check failed") from None
    campaigns = {c.dag_id for c in campaign_files.cached_campaigns()}
    wanted = [d for d in dag_id or [] if d in campaigns]
    states = await run_in_threadpool(airflow_access.dag_states, wanted) if wanted else {}
    return {d: s["is_paused"] for d, s in states.items()}
