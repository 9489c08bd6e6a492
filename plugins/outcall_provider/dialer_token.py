"""The token a dialer in Airflow's triggerer shows the API server to learn which campaign DAGs
are paused (triggers/dial.py asks, api/dialer_access.py answers).

Signed with Airflow's own signing key ([api_auth] jwt_secret, or jwt_private_key_path), which
every component of one Airflow shares, as the edge3 provider's workers use it. Its audience is
this question and nothing else, and it is valid for a minute.
"""
from __future__ import annotations

from functools import cache

AUDIENCE = "outcall-dialer"
VALID_SECONDS = 60
PAUSED_PATH = "/outcall/webhooks/dags/paused"


def sign() -> str:
    from airflow.api_fastapi.auth.tokens import JWTGenerator, get_signing_args

    return JWTGenerator(**get_signing_args(make_secret_key_if_needed=False), valid_for=VALID_SECONDS,
                        audience=AUDIENCE).generate({"sub": "outcall-dialer"})


@cache
def validator():
    from airflow.api_fastapi.auth.tokens import JWTValidator, get_sig_validation_args

    return JWTValidator(**get_sig_validation_args(make_secret_key_if_needed=False), audience=AUDIENCE)
