"""What the page needs from Airflow itself: who may do what, DAG paused states, triggering a
run, and reading connections. Everything runs inside the Airflow API server, which has the
metadata database, so no HTTP round trip to Airflow's own REST API is needed.
"""
from __future__ import annotations

from fastapi import HTTPException, status


def authorize_dag(user, dag_id: str, method: str) -> None:
    """Campaign reads need GET and campaign changes PUT on the campaign's DAG, as in Airflow's UI."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    if not get_auth_manager().is_authorized_dag(method=method, details=DagDetails(id=dag_id), user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to {method} DAG {dag_id}")


def dag_states(dag_ids: list[str]) -> dict[str, dict]:
    """{dag_id: {"is_paused": bool}} for the DAGs Airflow has parsed (and not lost since)."""
    from sqlalchemy import select

    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(select(DagModel.dag_id, DagModel.is_paused)
                               .where(DagModel.dag_id.in_(dag_ids), DagModel.is_stale.is_(False))).all()
    return {dag_id: {"is_paused": paused} for dag_id, paused in rows}


def set_dag_running(dag_id: str, running: bool, user_name: str) -> str | None:
    """Unpause and trigger a run at once (the next tick should not wait 10 minutes), or pause.
    Returns the new run id, if one was started."""
    from sqlalchemy import update

    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    with create_session() as session:
        changed = session.execute(update(DagModel).where(DagModel.dag_id == dag_id)
                                  .values(is_paused=not running)).rowcount
    if not changed:
        raise LookupError(dag_id)
    if not running:
        return None
    run = trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=user_name)
    return run.run_id if run else None


def connection(conn_id: str):
    """An Airflow connection as the API server sees it (environment, secrets backend, metadata DB)."""
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id)
