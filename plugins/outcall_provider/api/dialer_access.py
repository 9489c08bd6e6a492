"""GET /outcall/webhooks/dags/paused: which campaign DAGs are paused, for outcall's dialers in
Airflow's triggerer.

A trigger cannot ask Airflow itself: it has no metadata database and the triggerer offers no
DAG lookup. So it asks the API server, here, with a JWT it signs with Airflow's own signing key
([api_auth] jwt_secret or jwt_private_key_path), which every component of one Airflow shares,
as the edge3 provider's workers do. Audience DIALER_AUDIENCE: a token for this and nothing
else, valid for a minute. Only campaign DAGs are answered.
"""
from __future__ import annotations

import logging
from functools import cache
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from outcall_provider import campaign_files
from outcall_provider.api import airflow_access

log = logging.getLogger(__name__)
router = APIRouter()
DIALER_AUDIENCE = "outcall-dialer"
TOKEN_SECONDS = 60
PAUSED_PATH = "/dags/paused"


@cache
def _validator():
    from airflow.api_fastapi.auth.tokens import JWTValidator, get_sig_validation_args

    return JWTValidator(**get_sig_validation_args(make_secret_key_if_needed=False), audience=DIALER_AUDIENCE)


def dialer_token() -> str:
    """A token for PAUSED_PATH, signed with Airflow's key (called by the dialers)."""
    from airflow.api_fastapi.auth.tokens import JWTGenerator, get_signing_args

    return JWTGenerator(**get_signing_args(make_secret_key_if_needed=False), valid_for=TOKEN_SECONDS,
                        audience=DIALER_AUDIENCE).generate({"sub": "outcall-dialer"})


@router.get(PAUSED_PATH, summary="Which campaign DAGs are paused (for outcall's dialers)")
async def dags_paused(request: Request, dag_id: Annotated[list[str] | None, Query()] = None) -> dict[str, bool]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token:
            raise ValueError("no bearer token")
        await _validator().avalidated_claims(token)
    except Exception as e:  # same answer whatever failed
        log.warning("dag paused states refused: %s", type(e).__name__)
        raise HTTPException(403, "token check failed") from None
    campaigns = {c.dag_id for c in campaign_files.cached_campaigns()}
    wanted = [d for d in dag_id or [] if d in campaigns]
    states = await run_in_threadpool(airflow_access.dag_states, wanted) if wanted else {}
    return {d: s["is_paused"] for d, s in states.items()}
