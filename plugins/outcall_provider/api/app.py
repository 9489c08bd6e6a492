"""The two FastAPI apps the plugin mounts in the Airflow API server.

- campaigns_app at /outcall: the Campaigns page, its static files and the JSON API. Airflow's
  login is an app-wide dependency, so no route can be added without it. FastAPI's own
  /docs and /openapi.json bypass app dependencies, so they are replaced by routes that don't.
- webhooks_app at /outcall/webhooks: no Airflow login (Twilio and the assistant cannot log in);
  every request is verified by its signature instead (the dialers' questions by a JWT signed
  with Airflow's own key: api/dialer_access.py). It is listed before campaigns_app in the
  plugin so that Starlette matches its longer prefix first.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import psycopg
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import requires_access_view
from fastapi import Depends, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from outcall_provider.api import dialer_access, webhooks
from outcall_provider.api.routes import calls, campaigns, dnc, exports, imports, leads, vocabulary
from outcall_provider.rules.phone import mask_phones_in_text

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = {"campaigns.js": "text/javascript", "campaigns.css": "text/css"}
# The page builds its DOM with textContent only; nothing inline may run, nothing from elsewhere.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def _database_error(request, exc: psycopg.Error) -> JSONResponse:
    """A store error as the API answers and logs it: what failed, with phone numbers masked
    (a constraint or trigger message may quote a lead's number)."""
    message = mask_phones_in_text(str(exc).strip()) or type(exc).__name__
    log.error("campaign store error on %s %s: %s", request.method, request.url.path, message)
    return JSONResponse({"detail": f"the campaign store refused the request: {message}"}, status_code=500)


# A phone number in a request's path or query (a DNC check, a lead search), plain or URL-encoded.
_NUMBER_IN_TARGET = re.compile(rb"(?:%2B|\+)?\d{7,15}")


def _mask_target(target: bytes) -> bytes:
    return _NUMBER_IN_TARGET.sub(lambda m: b"*" * (len(m.group(0)) - 4) + m.group(0)[-4:], target)


class MaskNumbersInAccessLog:
    """The API server's access log prints each request's path and query. Once the route has read
    them, the phone numbers in them are masked there, so that no full number reaches the log."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_masked(message):
            if message["type"] == "http.response.start":  # the server logs the request after this
                for key in ("path", "raw_path", "query_string", "root_path"):
                    value = scope.get(key)
                    if isinstance(value, bytes):
                        scope[key] = _mask_target(value)
                    elif isinstance(value, str):
                        scope[key] = _mask_target(value.encode("latin-1")).decode("latin-1")
            await send(message)

        await self.app(scope, receive, send_masked)


def create_campaigns_app() -> FastAPI:
    app = FastAPI(title="outcall campaigns", version="1",
                  description="Campaigns page and its JSON API, inside the Airflow API server.",
                  dependencies=[Depends(requires_access_view(AccessView.PLUGINS))],
                  docs_url=None, redoc_url=None, openapi_url=None)
    for resource in (vocabulary, campaigns, leads, imports, calls, exports, dnc):  # the JSON API, one router each
        app.include_router(resource.router)
    app.add_exception_handler(psycopg.Error, _database_error)
    app.add_middleware(MaskNumbersInAccessLog)

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi():
        return app.openapi()

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url="openapi.json", title="outcall API")

    @app.get("/", include_in_schema=False)
    def page():
        html = (HERE / "templates" / "campaigns.html").read_text()
        return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        if name not in STATIC:
            raise HTTPException(404)
        return FileResponse(HERE / "static" / name, media_type=STATIC[name],
                            headers={"Cache-Control": "no-cache"})

    return app


def create_webhooks_app() -> FastAPI:
    app = FastAPI(title="outcall webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(webhooks.router)
    app.include_router(dialer_access.router)
    app.add_exception_handler(psycopg.Error, _database_error)
    return app


campaigns_app = create_campaigns_app()
webhooks_app = create_webhooks_app()
