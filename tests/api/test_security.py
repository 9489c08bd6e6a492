"""Without an Airflow login nothing but the webhooks answers; hostile search input is inert."""
from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from outcall_provider.api.app import campaigns_app

SAMPLE = {"name": "example", "lead_id": "1", "report_id": "1"}


def every_route():
    for route in campaigns_app.routes:
        methods = route.methods if isinstance(route, APIRoute) else getattr(route, "methods", None) or {"GET"}
        path = re.sub(r"{(\w+)}", lambda m: SAMPLE.get(m.group(1), "campaigns.js"), route.path)
        for method in methods - {"HEAD", "OPTIONS"}:
            yield method, "/outcall" + path


ROUTES = sorted(set(every_route()))


def test_every_route_is_listed():
    assert ("GET", "/outcall/") in ROUTES and ("POST", "/outcall/api/v1/campaigns/example/imports") in ROUTES
    assert len(ROUTES) >= 14


@pytest.mark.parametrize("method, path", ROUTES)
def test_no_route_answers_without_airflow_login(anon, example, hook, method, path):
    before = hook.page_campaign_summary(example["campaign_id"], example["now"])["leads_by_status"]
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Cookie": "_token=forged.jwt.value"}):
        r = anon.request(method, path, headers=headers, json={"status": "completed", "running": True,
                                                               "phone_number": "+14155550111"})
        assert r.status_code in (401, 403), (method, path, headers, r.status_code)
    assert hook.page_campaign_summary(example["campaign_id"], example["now"])["leads_by_status"] == before


HOSTILE = ["' or 1=1 --", "'; drop table outcall_leads; --", "<script>alert(1)</script>", "\" onmouseover=\"x",
           "%' union select * from outcall_campaigns --", "\\x00\\", "1; update outcall_leads set status='completed'"]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_search_matches_nothing_and_changes_nothing(api, example, hook, q):
    before = hook.page_campaign_summary(example["campaign_id"], example["now"])["leads_by_status"]
    r = api.get("/api/v1/campaigns/example/leads", params={"q": q})
    assert r.status_code in (200, 422) and (r.status_code == 422 or r.json()["leads"] == [])
    assert api.get("/api/v1/campaigns/example/leads", params={"status": q}).status_code == 422
    assert api.get(f"/api/v1/campaigns/{httpx.URL(q).path}/leads").status_code in (404, 422)
    assert hook.page_campaign_summary(example["campaign_id"], example["now"])["leads_by_status"] == before


def test_uploads_over_the_limit_are_refused(api, example, monkeypatch):
    from outcall_provider.api import routes

    size = routes.MAX_UPLOAD_BYTES + 1
    r = api.post("/api/v1/campaigns/example/imports", content=b"phone_number\n" + b"1" * size,
                 headers={"content-type": "text/csv"})
    assert r.status_code == 413
