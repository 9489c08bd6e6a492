"""The JSON API under /outcall/api/v1 (the page uses nothing else), one router per resource, as
Airflow's edge3 provider has them (worker_api/routes/*.py); api/app.py includes each.

Reading a campaign needs GET on its DAG and changing it needs PUT, checked per route; the app
around these routers already refuses anyone not logged into Airflow.
"""
from __future__ import annotations

from outcall_provider.api.routes.imports import MAX_UPLOAD_BYTES  # noqa: F401 (the limit, where tests read it)
