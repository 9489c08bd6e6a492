"""The JSON API through a real Airflow API server with the plugin loaded."""
from __future__ import annotations

import httpx

from outcall_provider.api.app import campaigns_app


def test_campaign_list_shows_the_example_campaigns_numbers(api, example):
    [c] = [c for c in api.get("/api/v1/campaigns").raise_for_status().json()["campaigns"] if c["name"] == "example"]
    assert (c["name"], c["dag_id"], c["status"]) == ("example", "campaign_example", "draft")
    assert c["leads"] == 200 and c["leads_by_status"]["completed"] == 1
    assert c["conversion"] == 1 / 200 and c["calls_today"] == 3
    assert c["cost"] == 0.026 and c["cost_unit"] == "USD" and c["window_open"] is True


def test_stats_has_funnel_outcomes_and_answer_rate(api, example):
    s = api.get("/api/v1/campaigns/example/stats").raise_for_status().json()
    assert [f["stage"] for f in s["funnel"]] == ["leads", "called", "reached a person", "goal met"]
    assert {f["stage"]: f["leads"] for f in s["funnel"]}["called"] == 3
    assert s["attempts_by_outcome"] == {"goal met": 1, "busy": 1}  # judged calls only
    assert s["live_calls"] == {"ringing": 1} and (s["calls_in_flight"], s["calls_awaiting_result"]) == (1, 0)
    assert sum(h["calls"] for h in s["answer_rate_by_hour"]) == 3
    assert sum(h["answered"] for h in s["answer_rate_by_hour"]) == 1


def test_leads_are_paged_and_filtered(api, example):
    newest = {"limit": 50, "sort": "newest"}
    first = api.get("/api/v1/campaigns/example/leads", params=newest).raise_for_status().json()
    second = api.get("/api/v1/campaigns/example/leads",
                     params={**newest, "before": first["next_before"]}).raise_for_status().json()
    assert len(first["leads"]) == len(second["leads"]) == 50
    assert first["leads"][-1]["id"] > second["leads"][0]["id"]
    done = api.get("/api/v1/campaigns/example/leads", params={"status": "completed"}).json()
    assert [lead["external_id"] for lead in done["leads"]] == [example["leads"][0].external_id]
    found = api.get("/api/v1/campaigns/example/leads", params={"q": "(415) 796-0001"}).json()
    assert [lead["external_id"] for lead in found["leads"]] == ["crm-1001"]  # national, read with default_region
    assert api.get("/api/v1/campaigns/example/leads", params={"status": "nonsense"}).status_code == 422
    assert api.get("/api/v1/campaigns/nope/leads").status_code == 404


def test_a_person_sets_a_lead_back_to_created(api, example):
    lead = example["leads"][0]
    r = api.patch(f"/api/v1/campaigns/example/leads/{lead.id}", json={"status": "created"})
    assert r.status_code == 200 and r.json() == {"id": lead.id, "status": "created"}
    [row] = api.get("/api/v1/campaigns/example/leads", params={"q": str(lead.id)}).json()["leads"]
    assert (row["status"], row["cycle"], row["round"]) == ("created", 2, 1)
    assert api.patch(f"/api/v1/campaigns/example/leads/{lead.id}", json={"status": "processing"}).status_code == 422


def test_created_while_a_call_is_in_flight_answers_409_and_completed_wins(api, example, hook):
    """Issue 8 point 4: `created` during a call would call the person twice at once."""
    ringing = example["leads"][2]  # its call is still ringing
    r = api.patch(f"/api/v1/campaigns/example/leads/{ringing.id}", json={"status": "created"})
    assert r.status_code == 409 and "call in flight" in r.json()["detail"]
    r = api.patch(f"/api/v1/campaigns/example/leads/{ringing.id}", json={"status": "completed"})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    # Issue 21 point 2.1: `completed` started a new cycle, and `created` right after it was taken
    # while the first call still rang: the person would be dialed a second time at once.
    r = api.patch(f"/api/v1/campaigns/example/leads/{ringing.id}", json={"status": "created"})
    assert r.status_code == 409 and "call in flight" in r.json()["detail"]
    [row] = api.get("/api/v1/campaigns/example/leads", params={"q": str(ringing.id)}).json()["leads"]
    assert row["status"] == "completed"


def test_adding_a_lead_by_hand_is_validated_like_an_import(api, example):
    bad = api.post("/api/v1/campaigns/example/leads", json={"phone_number": "12345"})
    assert bad.status_code == 422
    [reject] = bad.json()["detail"]["rejects"]
    assert reject["field"] == "phone_number" and reject["value"] == "12345"
    assert reject["line"] is None, "a lead added by hand has no line (issue 11 point 8: it said line 2)"
    good = api.post("/api/v1/campaigns/example/leads", json={
        "phone_number": "(415) 555-0199", "secondary_phones": ["+14155550198"], "external_id": "hand-1",
        "variables": {"first_name": "Zé"}})
    assert good.status_code == 201 and good.json()["imported"] == 1
    [lead] = api.get("/api/v1/campaigns/example/leads", params={"q": "hand-1"}).json()["leads"]
    assert lead["phone_number"] == "+14155550199" and lead["variables"] == {"first_name": "Zé"}
    assert lead["contacts"][0]["phone_number"] == "+14155550198"


def test_csv_upload_reports_its_bad_rows_and_keeps_the_good(api, example):
    csv = "phone_number,external_id,first_name\n+14155550301,up-1,Ana\nnot a phone,up-2,Rui\n+14155550303,up-3,Eva\n"
    r = api.post("/api/v1/campaigns/example/imports", params={"filename": "new.csv"}, content=csv,
                 headers={"content-type": "text/csv"})
    assert r.status_code == 201
    body = r.json()
    assert (body["imported"], body["rejected"]) == (2, 1)
    assert [(x["line"], x["field"], x["value"]) for x in body["rejects"]] == [(3, "phone_number", "not a phone")]
    again = api.get(f"/api/v1/campaigns/example/imports/{body['report_id']}").json()
    assert again["source"] == "upload new.csv by admin" and again["rejects"] == body["rejects"]
    no_header = api.post("/api/v1/campaigns/example/imports", content="name\nAna\n")
    assert no_header.status_code == 422 and "phone_number" in no_header.json()["detail"]["error"]


def test_calls_table_has_result_answered_by_duration_price_and_variables(api, example):
    calls = api.get("/api/v1/campaigns/example/calls").raise_for_status().json()["calls"]
    assert [c["call_status"] for c in calls] == ["ringing", "busy", "completed"]
    reached = calls[-1]
    assert (reached["answered_by"], reached["duration_s"], reached["price"]) == ("human", 95, -0.026)
    assert reached["variables"] == {"appointment_booked": True, "summary": "booked <b>Tuesday</b>"}


def test_start_unpauses_the_dag_and_runs_it_at_once_and_pause_pauses_it(api, stack, example):
    r = api.put("/api/v1/campaigns/example/running", json={"running": True})
    assert r.status_code == 200 and r.json()["run_id"]
    headers = {"Authorization": api.headers["Authorization"]}
    dag = httpx.get(f"{stack.url}/api/v2/dags/campaign_example", headers=headers).json()
    runs = httpx.get(f"{stack.url}/api/v2/dags/campaign_example/dagRuns", headers=headers).json()
    assert dag["is_paused"] is False and r.json()["run_id"] in [x["dag_run_id"] for x in runs["dag_runs"]]
    assert api.get("/api/v1/campaigns/example").json()["status"] == "in_progress"
    assert api.put("/api/v1/campaigns/example/running", json={"running": False}).json()["run_id"] is None
    assert httpx.get(f"{stack.url}/api/v2/dags/campaign_example", headers=headers).json()["is_paused"] is True
    assert api.get("/api/v1/campaigns/example").json()["status"] == "paused"


def test_openapi_lists_the_api(api):
    paths = api.get("/api/v1/openapi.json").raise_for_status().json()["paths"]
    assert {"/api/v1/campaigns", "/api/v1/campaigns/{name}/leads", "/api/v1/campaigns/{name}/imports",
            "/api/v1/campaigns/{name}/calls", "/api/v1/campaigns/{name}/stats"} <= set(paths)
    assert len(campaigns_app.routes) > 10


def test_the_page_and_its_assets_are_served(api):
    page = api.get("/")
    assert page.status_code == 200 and "static/campaigns.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert api.get("/static/campaigns.js").status_code == 200
    assert api.get("/static/..%2Fapp.py").status_code == 404


def test_campaigns_is_in_the_airflow_navigation(stack, token):
    plugins = httpx.get(f"{stack.url}/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}).json()
    [outcall] = [p for p in plugins["plugins"] if p["name"] == "outcall"]
    assert outcall["external_views"][0]["href"] == "/outcall/"
    assert outcall["external_views"][0]["url_route"] == "campaigns"


def test_a_campaign_in_another_store_shows_its_own_leads_and_calls(api, example, other):
    listed = {c["name"]: c for c in api.get("/api/v1/campaigns").raise_for_status().json()["campaigns"]}
    assert listed["other"]["db_conn_id"] == "outcall_db_two" and listed["other"]["leads"] == 200
    assert listed["other"]["calls_today"] == 1 and listed["example"]["calls_today"] == 3
    calls = api.get("/api/v1/campaigns/other/calls").raise_for_status().json()["calls"]
    assert [(c["id"], c["call_status"]) for c in calls] == [(other["attempt_id"], "ringing")]
    leads = api.get("/api/v1/campaigns/other/leads", params={"status": "processing"}).json()["leads"]
    assert [lead["id"] for lead in leads] == [other["lead"].id]
    r = api.patch(f"/api/v1/campaigns/other/leads/{other['lead'].id + 1}", json={"status": "completed"})
    assert r.status_code == 200
    assert api.get("/api/v1/campaigns/other").json()["leads_by_status"]["completed"] == 1
    assert api.get("/api/v1/campaigns/example").json()["leads_by_status"]["completed"] == 1  # untouched


def test_a_campaign_whose_store_cannot_be_read_is_listed_with_the_reason(api, campaigns_dir, example):
    broken = campaigns_dir / "broken.yaml"
    broken.write_text((campaigns_dir / "example.yaml").read_text().replace("name: example", "name: broken")
                      + "connections: {db_conn_id: outcall_db_missing}\n")
    try:
        r = api.get("/api/v1/campaigns")
    finally:
        broken.unlink()
    assert r.status_code == 200
    listed = {c["name"]: c for c in r.json()["campaigns"]}
    assert "outcall_db_missing" in listed["broken"]["store_error"] and listed["broken"]["leads"] == 0
    assert listed["example"]["leads"] == 200 and listed["example"]["store_error"] is None


def test_openapi_documents_every_field_of_the_campaign_list_and_lead_page(api):
    spec = api.get("/api/v1/openapi.json").raise_for_status().json()
    schemas = spec["components"]["schemas"]

    def documented(ref: dict) -> dict:
        props = schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"]
        assert [k for k, p in props.items() if not p.get("description")] == []
        return props

    def answer(path: str) -> dict:
        return documented(spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])

    listing = answer("/api/v1/campaigns")
    summary = documented(listing["campaigns"]["items"])
    assert {"name", "status", "leads_by_status", "conversion", "cost", "window_next_open", "db_conn_id",
            "store_error"} <= set(summary)
    page = answer("/api/v1/campaigns/{name}/leads")
    assert set(page) == {"leads", "next_before", "next_before_at"}
    lead = documented(page["leads"]["items"])
    assert {"id", "external_id", "phone_number", "status", "variables", "contacts", "attempts",
            "last_call", "next_due_at"} <= set(lead)
    call = documented(answer("/api/v1/campaigns/{name}/calls")["calls"]["items"])
    assert {"late_variables", "late_variables_at", "outcome_note"} <= set(call)


def test_the_response_models_keep_every_field_and_value_the_views_return(api, example, hook):
    """Each answer is what FastAPI wrote before the response models (jsonable_encoder of the same
    dicts): no field dropped, times and money written as before."""
    from fastapi.encoders import jsonable_encoder

    from outcall_provider import clock
    from outcall_provider.api import datamodels as m
    from outcall_provider.api import views
    from outcall_provider.api.routes.common import import_result

    def same(model, raw):
        assert model.model_validate(raw).model_dump(mode="json") == jsonable_encoder(raw)

    view = views.campaign_by_name(hook, "example")
    same(m.CampaignSummary, views.campaign_summary(hook, view, clock.now(), None))
    same(m.CampaignStats, views.campaign_detail(hook, view, clock.now(), None))
    same(m.CampaignSummary, views.campaign_summary(None, views.campaign_by_name(hook, "other"), clock.now(), None))
    same(m.LeadPage, views.lead_page(hook, view, limit=200))
    calls = views.calls_page(hook, view)
    assert {c["variables"] is None for c in calls["calls"]} == {True, False}
    same(m.CallPage, calls)
    report = hook.add_lead(example["campaign_id"], "test", ["phone_number", "external_id"], ["12345", ""], "US",
                           clock.now())
    result = import_result(hook, report)
    assert result["rejects"]
    same(m.ImportResult, result)
    same(m.ImportReport, {**hook.page_import_report(example["campaign_id"], report.report_id),
                          "rejects": result["rejects"]})


def test_campaign_files_are_parsed_again_only_when_they_change(tmp_path):
    from outcall_provider import campaign_files
    from outcall_provider.rules.campaign import CampaignFileError

    source = (campaign_files.campaigns_dir() / "example.yaml").read_text()
    path = tmp_path / "example.yaml"
    path.write_text(source)
    first = campaign_files.load_campaign_cached(path)
    entries = len(campaign_files._parsed)
    assert campaign_files.load_campaign_cached(path) is first  # unchanged: the same parse
    assert len(campaign_files._parsed) == entries
    path.write_text(source.replace("max_attempts: 3", "max_attempts: 5"))
    second = campaign_files.load_campaign_cached(path)
    assert (first.retry.max_attempts, second.retry.max_attempts) == (3, 5)
    assert len(campaign_files._parsed) == entries  # one entry per file, replaced
    path.write_text(source.replace("max_attempts: 3", "max_attempts: 9"))
    for _ in range(2):  # an invalid file fails every time, from one stored parse
        try:
            campaign_files.load_campaign_cached(path)
        except CampaignFileError as e:
            assert "max_attempts" in str(e)
        else:
            raise AssertionError("max_attempts: 9 is out of range")
    error = campaign_files._parsed[str(path)][1]
    assert isinstance(error, CampaignFileError)
    try:
        campaign_files.load_campaign_cached(path)
    except CampaignFileError as e:
        assert e is error


def test_an_edited_campaign_file_shows_on_the_next_request(api, campaigns_dir):
    path = campaigns_dir / "edited.yaml"
    source = (campaigns_dir / "example.yaml").read_text().replace("name: example", "name: edited")

    def shown():
        listed = {c["name"]: c for c in api.get("/api/v1/campaigns").raise_for_status().json()["campaigns"]}
        return listed["edited"]["assistant"] if "edited" in listed else None

    try:
        path.write_text(source)
        assert shown() == "Renewals assistant"
        assert shown() == "Renewals assistant"  # unchanged: served from the cache
        path.write_text(source.replace("Renewals assistant", "Winback assistant"))
        assert shown() == "Winback assistant"
    finally:
        path.unlink()
    assert shown() is None


def test_leads_sort_by_last_activity_by_default_and_page_on(api, example, hook):
    from datetime import timedelta

    quiet = example["leads"][1].id + 100  # an untouched lead, touched now
    hook.set_lead_status(example["campaign_id"], quiet, "created", example["now"] + timedelta(minutes=1))
    first = api.get("/api/v1/campaigns/example/leads", params={"limit": 50}).raise_for_status().json()
    assert first["leads"][0]["id"] == quiet and first["next_before_at"]
    second = api.get("/api/v1/campaigns/example/leads", params={
        "limit": 50, "before": first["next_before"], "before_at": first["next_before_at"]}).json()
    assert not {x["id"] for x in first["leads"]} & {x["id"] for x in second["leads"]}
    newest = api.get("/api/v1/campaigns/example/leads", params={"sort": "newest", "limit": 5}).json()
    assert [x["id"] for x in newest["leads"]] == sorted((x["id"] for x in newest["leads"]), reverse=True)
    assert newest["leads"][0]["id"] > quiet


def test_a_broken_campaign_file_shows_its_errors_and_keeps_its_leads_read_only(api, campaigns_dir, example):
    """Issue point 5: a typo in a running campaign's file made it look `paused` with its DAG gone."""
    path = campaigns_dir / "example.yaml"
    source = path.read_text()
    path.write_text(source.replace("max_attempts: 3", "max_attempts: 9").replace("days: [", "dayz: ["))
    try:
        listed = {c["name"]: c for c in api.get("/api/v1/campaigns").raise_for_status().json()["campaigns"]}
        broken = listed["example"]
        assert broken["status"] == "invalid_file" and broken["leads"] == 200
        errors = " | ".join(broken["file_errors"])
        assert "example.yaml" in errors and "retry.max_attempts" in errors and "1" in errors and "5" in errors
        assert "schedule.dayz" in errors  # every error, each naming its key
        stats = api.get("/api/v1/campaigns/example/stats").raise_for_status().json()
        assert stats["status"] == "invalid_file" and stats["leads_by_status"]["completed"] == 1
        leads = api.get("/api/v1/campaigns/example/leads", params={"status": "completed"}).json()["leads"]
        assert [x["id"] for x in leads] == [example["leads"][0].id]
        assert len(api.get("/api/v1/campaigns/example/calls").json()["calls"]) == 3
        lead = example["leads"][1].id
        refused = [api.put("/api/v1/campaigns/example/running", json={"running": True}),
                   api.patch(f"/api/v1/campaigns/example/leads/{lead}", json={"status": "completed"}),
                   api.post("/api/v1/campaigns/example/leads", json={"phone_number": "+14155550777"}),
                   api.post("/api/v1/campaigns/example/imports", content=b"phone_number\n+14155550778\n",
                            headers={"content-type": "text/csv"})]
        assert [r.status_code for r in refused] == [409, 409, 409, 409]
        assert all("example.yaml" in r.json()["detail"] for r in refused)
    finally:
        path.write_text(source)
    fixed = api.get("/api/v1/campaigns/example").raise_for_status().json()
    assert fixed["status"] == "draft" and fixed["file_errors"] == [] and fixed["leads_by_status"]["completed"] == 1
    assert fixed["leads"] == 200  # nothing was imported while the file was broken
    assert "invalid_file" in api.get("/api/v1/vocabulary").json()["page_statuses"]


def test_a_new_campaign_file_with_a_typo_is_listed_with_its_errors(api, campaigns_dir, example):
    """No store kept its spec: it is listed with its errors, nothing else to show, and nothing to act on."""
    path = campaigns_dir / "typo.yaml"
    path.write_text("name: typo\nassistant: {name: A}\nschedulle: {}\n")
    try:
        listed = {c["name"]: c for c in api.get("/api/v1/campaigns").raise_for_status().json()["campaigns"]}
        typo = listed["typo"]
        assert typo["status"] == "invalid_file" and typo["leads"] == 0 and typo["assistant"] is None
        assert any(e.startswith("typo.yaml: schedulle") for e in typo["file_errors"]), typo["file_errors"]
        stats = api.get("/api/v1/campaigns/typo/stats").raise_for_status().json()
        assert stats["funnel"][0] == {"stage": "leads", "leads": 0, "title": "every lead of the campaign"}
        assert api.get("/api/v1/campaigns/typo/leads").json()["leads"] == []
        assert api.put("/api/v1/campaigns/typo/running", json={"running": True}).status_code == 409
        assert listed["example"]["status"] == "draft"  # the others are untouched
    finally:
        path.unlink()
