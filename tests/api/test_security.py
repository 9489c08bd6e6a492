"""Without an Airflow login nothing but the webhooks answers; hostile search input is inert."""
from __future__ import annotations

import json
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


@pytest.fixture
def viewer(stack, viewer_token, hook):
    with httpx.Client(base_url=f"{stack.url}/outcall", headers={"Authorization": f"Bearer {viewer_token}"},
                      timeout=60) as client:
        yield client


def test_the_campaign_list_shows_only_campaigns_whose_dag_the_user_may_read(api, viewer, example, other):
    every = [c["name"] for c in api.get("/api/v1/campaigns").raise_for_status().json()["campaigns"]]
    assert every == ["example", "other"]  # admin
    # viewer has no part in team `sales`, which owns campaign_other's DAG
    assert [c["name"] for c in viewer.get("/api/v1/campaigns").raise_for_status().json()["campaigns"]] == ["example"]
    for path in ("/api/v1/campaigns/other", "/api/v1/campaigns/other/leads", "/api/v1/campaigns/other/calls"):
        assert viewer.get(path).status_code == 403, path
    assert viewer.get("/api/v1/campaigns/example/leads").status_code == 200


def test_a_read_only_user_cannot_start_or_pause_a_campaign(stack, viewer, example):
    for running in (True, False):
        r = viewer.put("/api/v1/campaigns/example/running", json={"running": running})
        assert r.status_code == 403, r.text
    dag = httpx.get(f"{stack.url}/api/v2/dags/campaign_example", headers=stack.headers()).json()
    assert dag["is_paused"] is True
    runs = httpx.get(f"{stack.url}/api/v2/dags/campaign_example/dagRuns", headers=stack.headers()).json()
    assert all(r.get("triggering_user_name") != "viewer" for r in runs["dag_runs"])


def test_start_and_pause_are_in_airflows_audit_log(stack, api, example):
    def events(event):
        r = httpx.get(f"{stack.url}/api/v2/eventLogs", headers=stack.headers(),
                      params={"dag_id": "campaign_example", "event": event, "limit": 100})
        return r.raise_for_status().json()["event_logs"]

    seen = {e["event_log_id"] for e in events("patch_dag") + events("trigger_dag_run")}
    assert api.put("/api/v1/campaigns/example/running", json={"running": True}).status_code == 200
    assert api.put("/api/v1/campaigns/example/running", json={"running": False}).status_code == 200
    paused = [e for e in events("patch_dag") if e["event_log_id"] not in seen]
    assert sorted(json.loads(e["extra"])["is_paused"] for e in paused) == [False, True]
    assert {e["owner"] for e in paused} == {"admin"}
    [started] = [e for e in events("trigger_dag_run") if e["event_log_id"] not in seen]
    assert started["owner"] == "admin"


def test_store_errors_reach_the_user_with_phone_numbers_masked(stack, api, hook, example):
    lead = example["leads"][1]
    number = lead.phone_number
    with hook.db.cursor() as cur:  # a store rule that quotes the lead's number in its error
        cur.execute("""create function outcall_test_refuse() returns trigger language plpgsql as $$
                       begin raise exception 'lead % (%) is locked by the CRM', new.id, new.phone_number; end $$;
                       create trigger outcall_test_refuse before update on outcall_leads
                       for each row execute function outcall_test_refuse()""")
    hook.db.commit()
    try:
        r = api.patch(f"/api/v1/campaigns/example/leads/{lead.id}", json={"status": "completed"})
    finally:
        with hook.db.cursor() as cur:
            cur.execute("drop trigger outcall_test_refuse on outcall_leads; drop function outcall_test_refuse()")
        hook.db.commit()
    assert r.status_code == 500
    detail = r.json()["detail"]
    assert "is locked by the CRM" in detail and number[-4:] in detail and number not in detail
    assert number[1:] not in (stack.home / "logs" / "api-server.log").read_text(errors="replace")
