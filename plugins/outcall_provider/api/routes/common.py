"""What the resource routers share: finding the campaign a path names, its store, import results."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status

from outcall_provider import clock
from outcall_provider.api import airflow_access, views
from outcall_provider.api.store import store, thread_hook

PREFIX = "/api/v1"
Store = Annotated[object, Depends(store)]
REJECTS_SHOWN = 500


def campaign(name: str, user, method: str = "GET") -> views.CampaignView:
    """The campaign, found in whichever store keeps it, if the user may `method` its DAG. A
    campaign whose file is invalid is read only: nothing may act on it until the file is fixed."""
    view = views.campaign_by_name(thread_hook, name)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign {name!r}")
    airflow_access.authorize_dag(user, view.dag_id, method)
    if method != "GET" and view.file_errors:
        raise HTTPException(status.HTTP_409_CONFLICT, f"campaign {view.name!r} has an invalid campaign file; "
                            f"fix it first: {'; '.join(view.file_errors)}")
    return view


def campaign_hook(view: views.CampaignView):
    """The campaign's own store; 503 naming it when it cannot be read."""
    if view.store_error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, view.store_error)
    return thread_hook(view.db_conn_id)


def stored_id(hook, view: views.CampaignView) -> int:
    """The campaign's store id, adding it to the store (as a draft) on its first lead."""
    return view.store_id if view.store_id is not None else hook.upsert_campaign(view.campaign, clock.now())


def import_result(hook, report) -> dict:
    """An ImportReport as the API answers it (datamodels.ImportResult), with its first rejects."""
    return {"report_id": report.report_id, "imported": report.imported, "updated": report.updated,
            "rejected": report.rejected, "warnings": report.warnings, "error": report.error,
            "rejects": hook.import_rejects(report.report_id, REJECTS_SHOWN)}
