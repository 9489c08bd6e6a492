"""Shared fixtures: a real PostgreSQL cluster for the whole session, a clean store per test."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))  # the sandbox package

# Airflow must not write into ~/airflow or look for a metadata DB during unit tests.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="outcall-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pgcluster  # noqa: E402

OUTCALL_TABLES = ("outcall_import_rejects", "outcall_import_reports", "outcall_attempts",
                  "outcall_contacts", "outcall_leads", "outcall_campaigns", "outcall_call_variables",
                  "outcall_pacing", "outcall_lead_counts", "outcall_call_transcripts", "outcall_dnc",
                  "outcall_callee_clocks")


def pytest_collection_modifyitems(items):
    """Mark each test by what it needs, from where it lives: `pytest -m unit` runs the pure
    rules in seconds; integration tests use PostgreSQL, the sandbox or an Airflow API server;
    e2e runs the real scheduler; browser drives Chromium."""
    for item in items:
        path = Path(str(item.fspath)).relative_to(ROOT / "tests").as_posix()
        if path.startswith("rules/"):
            item.add_marker(pytest.mark.unit)
        elif path.startswith("test_e2e_"):
            item.add_marker(pytest.mark.e2e)
        elif path.startswith("api/test_browser"):
            item.add_marker(pytest.mark.browser)
        else:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_url():
    """libpq URL base of a throw-away cluster, stopped and removed after the session."""
    with pgcluster.temporary_cluster() as url:
        os.environ["AIRFLOW_CONN_OUTCALL_DB"] = f"{url}/outcall"
        yield url


@pytest.fixture
def assistant_results(pg_url):
    """assistant_results(call_sid, variables): the assistant's results webhook, as the sandbox
    calls it from several threads at once: the API server's own code after the signature check
    (late results included: an opt-out that comes after the call was judged still counts), with
    a store connection per thread (api/store.thread_hook)."""
    from outcall_provider.api.store import DEFAULT_DB_CONN_ID
    from outcall_provider.api.webhooks import store_variables

    def deliver(call_sid: str, variables: dict) -> None:
        store_variables(call_sid, variables, [DEFAULT_DB_CONN_ID])

    return deliver


@pytest.fixture
def hook(pg_url):
    """A CampaignHook on an empty store."""
    from outcall_provider.hooks.campaign import CampaignHook

    h = CampaignHook()
    with h.db.cursor() as cur:
        cur.execute(f"truncate {', '.join(OUTCALL_TABLES)} restart identity cascade")
    h.db.commit()
    yield h
    h.close()


@pytest.fixture(scope="session", autouse=True)
def _cleanup_airflow_home():
    yield
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
