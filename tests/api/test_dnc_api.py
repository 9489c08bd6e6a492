"""Do-not-call lists through a real Airflow API server: what the Campaigns page reads and
changes, who may do it, and that no answer carries a full phone number."""
from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute

from outcall_provider import clock
from outcall_provider.api.app import campaigns_app

A, B = "+14155550101", "+14155550102"
DNC_ROUTES = [("GET", "/api/v1/dnc"), ("GET", f"/api/v1/dnc/{A}"), ("POST", "/api/v1/dnc"),
              ("DELETE", f"/api/v1/dnc/{A}")]


def assert_masked(r: httpx.Response) -> None:
    for number in (A, B):
        assert number[1:] not in r.text, r.text


@pytest.fixture
def dnc(hook):
    """The hook fixture empties every table of the store, do-not-call lists included."""
    return hook


@pytest.fixture
def viewer(stack, viewer_token):
    with httpx.Client(base_url=f"{stack.url}/outcall", headers={"Authorization": f"Bearer {viewer_token}"},
                      timeout=60) as client:
        yield client


def test_the_dnc_routes_are_mounted():
    paths = {(m, r.path) for r in campaigns_app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert {("GET", "/api/v1/dnc"), ("GET", "/api/v1/dnc/{number}"), ("POST", "/api/v1/dnc"),
            ("DELETE", "/api/v1/dnc/{number}")} <= paths, "include api/routes/dnc.py's router in api/app.py"


def test_add_check_and_remove_a_number_by_hand(api, dnc):
    r = api.get("/api/v1/dnc")
    assert r.status_code == 200 and r.json()["lists"] == [] and r.json()["suppressed_numbers"] == 0
    version = r.json()["version"]
    r = api.post("/api/v1/dnc", json={"phone_number": A, "note": f"asked by email, also {B}"})
    assert r.status_code == 201, r.text
    assert_masked(r)
    body = r.json()
    assert (body["phone_number"], body["suppressed"], body["added"]) == ("+*******0101", True, True)
    [entry] = body["lists"]
    assert entry["list"] == "hand" and entry["source"].startswith("by admin via the Campaigns page")
    assert api.post("/api/v1/dnc", json={"phone_number": A}).json()["added"] is False
    assert dnc.is_suppressed(A)
    r = api.get("/api/v1/dnc")
    assert [(x["list"], x["numbers"]) for x in r.json()["lists"]] == [("hand", 1)]
    assert r.json()["version"] > version
    r = api.get(f"/api/v1/dnc/{A}")
    assert r.status_code == 200 and r.json()["suppressed"] is True
    assert_masked(r)
    dnc.dnc_add([A], "opt-out", f"call CA1 to {A}", clock.now())
    r = api.delete(f"/api/v1/dnc/{A}")  # list hand by default
    assert r.status_code == 200, r.text
    assert_masked(r)
    body = r.json()
    assert body["removed_from"] == ["hand"] and body["suppressed"] is True  # still opted out
    assert [x["list"] for x in body["lists"]] == ["opt-out"]
    assert api.delete(f"/api/v1/dnc/{A}").status_code == 404
    assert api.delete(f"/api/v1/dnc/{A}", params={"list": "opt-out"}).json()["suppressed"] is False
    assert api.get(f"/api/v1/dnc/{A}").json() == {"phone_number": "+*******0101", "suppressed": False, "lists": []}


def test_national_numbers_need_a_region_and_bad_input_is_refused(api, dnc):
    r = api.post("/api/v1/dnc", json={"phone_number": "4155550101"})
    assert r.status_code == 422 and "0101" in r.text
    assert_masked(r)
    r = api.post("/api/v1/dnc", json={"phone_number": "(415) 555-0101", "default_region": "US"})
    assert r.status_code == 201 and r.json()["phone_number"] == "+*******0101"
    assert api.get("/api/v1/dnc/not-a-number").status_code == 422
    assert api.delete(f"/api/v1/dnc/{A}", params={"list": "Bad List"}).status_code == 422
    assert api.get("/api/v1/dnc", params={"store": "nope"}).status_code == 404


@pytest.mark.parametrize("method, path", DNC_ROUTES)
def test_nothing_answers_without_an_airflow_login(anon, dnc, method, path):
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
        r = anon.request(method, "/outcall" + path, headers=headers, json={"phone_number": A})
        assert r.status_code in (401, 403), (method, path, r.status_code)
    assert not dnc.is_suppressed(A)


def test_a_read_only_user_reads_the_lists_but_cannot_change_them(viewer, dnc):
    dnc.dnc_add([A], "hand", "by ana", clock.now())
    assert viewer.get("/api/v1/dnc").status_code == 200
    assert viewer.get(f"/api/v1/dnc/{A}").json()["suppressed"] is True
    r = viewer.post("/api/v1/dnc", json={"phone_number": B})
    assert r.status_code == 403 and "PUT" in r.json()["detail"]
    assert viewer.delete(f"/api/v1/dnc/{A}").status_code == 403
    assert dnc.is_suppressed(A) and not dnc.is_suppressed(B)


def test_numbers_in_request_paths_and_queries_are_masked_in_the_access_log(api, dnc, stack, example):
    """Airflow's API server logs every request's path and query; a DNC check or a lead search
    puts a number there."""
    number = "+14155550987"
    assert api.get(f"/api/v1/dnc/{number}").status_code == 200
    assert api.get("/api/v1/campaigns/example/leads", params={"q": number}).status_code == 200
    log = (stack.home / "logs" / "api-server.log").read_text(errors="replace")
    assert "0987" in log, "the requests were logged"
    for shown in (number, number.replace("+", "%2B"), "4155550987"):
        assert shown not in log
