"""Exports: a campaign's results as a file to download (the Campaigns page's download button),
the same rows as `outcall export` and the campaign's results table, phone numbers in full."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from outcall_provider.api.routes.common import PREFIX, campaign, campaign_hook
from outcall_provider.rules import results

router = APIRouter(prefix=PREFIX, tags=["exports"])
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@router.get("/campaigns/{name}/export", response_class=StreamingResponse,
            summary="The campaign's results as CSV or JSON Lines: one row per lead, or per judged call",
            responses={200: {"content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["jsonl"]: {}}}})
def export(name: str, user: GetUserDep,
           fmt: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "csv",
           rows: Literal["leads", "attempts"] = "leads",
           since: Annotated[datetime | None, Query(description="only rows changed at or after this time")] = None):
    from outcall_provider.hooks.results import ResultsHook

    view = campaign(name, user)
    campaign_hook(view)  # 503 naming the store when it cannot be read
    if view.store_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"campaign {name!r} has no leads yet")
    # The file streams from a store connection of its own: the server thread's shared one
    # must not be held by a download that pages through a million leads.
    hook = ResultsHook(replace(view.campaign, db_conn_id=view.db_conn_id))
    columns = results.LEAD_COLUMNS if rows == "leads" else results.ATTEMPT_COLUMNS

    def lines():
        try:
            yield from results.file_lines(hook.rows(rows, since), columns, fmt, view.name)
        finally:
            hook.close()

    filename = f"{view.name}_{rows}.{fmt}"
    return StreamingResponse(lines(), media_type=MEDIA_TYPES[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                      "Cache-Control": "no-store"})
