"""The Airflow plugin: registered through the `airflow.plugins` entry point.

The Campaigns page and webhooks (a FastAPI app) are mounted here.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class OutcallPlugin(AirflowPlugin):
    name = "outcall"
