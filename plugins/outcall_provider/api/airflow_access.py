"""What the page needs from Airflow itself: who may do what, DAG paused states, pausing and
triggering runs, and reading connections. Everything runs inside the Airflow API server, which
has the metadata database, so no HTTP round trip to Airflow's own REST API is needed.

Checks are made the way Airflow's own endpoints make them (core_api/security.py): per-DAG checks
carry the DAG's team, lists are filtered with the auth manager's batch method, and changes are
written to Airflow's audit log (the `log` table) like its `action_logging` dependency does.
"""
from __future__ import annotations

import json

from fastapi import HTTPException, status


def _dag_details(dag_id: str):
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.models.dag import DagModel

    return DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))


def authorize_dag(user, dag_id: str, method: str, access_entity=None) -> None:
    """Campaign reads need GET and changes PUT on the campaign's DAG, as in Airflow's UI;
    with access_entity (e.g. DagAccessEntity.RUN) the check is on that part of the DAG."""
    from airflow.api_fastapi.app import get_auth_manager

    if not get_auth_manager().is_authorized_dag(method=method, access_entity=access_entity,
                                                details=_dag_details(dag_id), user=user):
        what = f"{method} {access_entity.value.lower()} of" if access_entity else method
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to {what} DAG {dag_id}")


def authorize_dags(user, method: str, what: str) -> None:
    """GET (read) or PUT (edit) on DAGs in general, for what belongs to no single DAG (a store's
    do-not-call lists), as Airflow checks its endpoints that name no DAG: DagDetails without id or team."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    if not get_auth_manager().is_authorized_dag(method=method, details=DagDetails(id=None, team_name=None),
                                                user=user):
        action = "read" if method == "GET" else "change"
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to {action} {what}: needs {method} on DAGs")


def authorize_trigger(user, dag_id: str) -> None:
    """Starting a campaign triggers a run: Airflow's trigger endpoint needs POST on the DAG's runs."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    authorize_dag(user, dag_id, "POST", DagAccessEntity.RUN)


def readable_dag_ids(user, dag_ids: list[str]) -> set[str]:
    """The DAGs among `dag_ids` the user may read, each checked with its team (one batch per team,
    as Airflow's list endpoints do through get_authorized_dag_ids)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.models.dag import DagModel

    teams = DagModel.get_dag_id_to_team_name_mapping(dag_ids)
    by_team: dict[str | None, set[str]] = {}
    for dag_id in dag_ids:
        by_team.setdefault(teams.get(dag_id), set()).add(dag_id)
    manager = get_auth_manager()
    allowed: set[str] = set()
    for team, ids in by_team.items():
        allowed |= manager.filter_authorized_dag_ids(dag_ids=ids, user=user, method="GET", team_name=team)
    return allowed


def dag_states(dag_ids: list[str]) -> dict[str, dict]:
    """{dag_id: {"is_paused": bool}} for the DAGs Airflow has parsed (and not lost since)."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(select(DagModel.dag_id, DagModel.is_paused)
                               .where(DagModel.dag_id.in_(dag_ids), DagModel.is_stale.is_(False))).all()
    return {dag_id: {"is_paused": paused} for dag_id, paused in rows}


def _audit(session, event: str, dag_id: str, user, extra: dict) -> None:
    """An audit log row as Airflow's action_logging writes it for its own endpoints."""
    from airflow.models.log import Log

    name = user.get_name() if user else "anonymous"
    session.add(Log(event=event, task_instance=None, owner=name, owner_display_name=name if user else "",
                    extra=json.dumps({**extra, "source": "outcall campaigns page"}), dag_id=dag_id))


def set_dag_running(dag_id: str, running: bool, user) -> str | None:
    """Unpause and trigger a run at once (the next tick should not wait 10 minutes), or pause,
    through the DagModel as Airflow's patch_dag does, with its audit log rows.
    Returns the new run id, if one was started."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import select

    with create_session() as session:
        dag = session.scalar(select(DagModel).where(DagModel.dag_id == dag_id, DagModel.is_stale.is_(False)))
        if dag is None:
            raise LookupError(dag_id)
        dag.is_paused = not running
        _audit(session, "patch_dag", dag_id, user, {"is_paused": not running, "method": "PATCH"})
    if not running:
        return None
    run = trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=user.get_name())
    with create_session() as session:
        _audit(session, "trigger_dag_run", dag_id, user, {"method": "POST", "run_id": run.run_id if run else None})
    return run.run_id if run else None


def connection(conn_id: str):
    """An Airflow connection as the API server sees it (environment, secrets backend, metadata DB)."""
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id)
