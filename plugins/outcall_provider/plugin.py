"""The Airflow plugin: registered through the `airflow.plugins` entry point.

Mounts the Campaigns page + JSON API (/outcall, behind Airflow's login) and the webhooks
(/outcall/webhooks, verified by signature), and adds "Campaigns" to the Airflow navigation.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


def _fastapi_apps() -> list[dict]:
    try:
        from outcall_provider.api.app import campaigns_app, webhooks_app
    except ImportError:  # FastAPI parts are only importable where the API server runs
        return []
    # The webhooks come first: Starlette tries mounts in order and /outcall would match too.
    return [
        {"app": webhooks_app, "url_prefix": "/outcall/webhooks", "name": "outcall webhooks"},
        {"app": campaigns_app, "url_prefix": "/outcall", "name": "outcall campaigns"},
    ]


class OutcallPlugin(AirflowPlugin):
    name = "outcall"
    fastapi_apps = _fastapi_apps()
    external_views = [{
        "name": "Campaigns",
        "href": "/outcall/",
        "url_route": "campaigns",
        "destination": "nav",
        "nav_top_level": True,
    }]
