"""Lead imports and by-hand adds through the real Airflow API server: a bad row or a bad file
is a report, never a 500; a by-hand add never overwrites; concurrent uploads both land."""
from __future__ import annotations

import csv
import re
import threading

FULL_NUMBER = re.compile(r"\d(?:[\s().-]?\d){6}")  # 7 digits in a row: a number not masked


def upload(api, content, filename="leads.csv"):
    return api.post("/api/v1/campaigns/example/imports", params={"filename": filename}, content=content,
                    headers={"content-type": "text/csv"})


def lead(api, q):
    found = api.get("/api/v1/campaigns/example/leads", params={"q": q}).raise_for_status().json()["leads"]
    return found[0] if found else None


def test_an_upload_with_broken_rows_imports_every_good_row(api, example):
    huge = "x" * (csv.field_size_limit() + 1)
    content = ("phone_number,external_id,score\n"
               "+14155550301,up-1,NaN\n"
               "+14155550302,up-2,bad\x00 call +1 415 555 0177\n"
               f"+14155550303,up-3,{huge}\n"
               "+14155550304,up-4,-inf\n"
               '+14155550305,up-5,"never closed\n'
               "+14155550306,up-6,Infinity\n")
    r = upload(api, content.encode())
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["imported"], body["rejected"]) == (3, 3)
    assert [(x["line"], x["field"]) for x in body["rejects"]] == [(3, None), (4, None), (6, None)]
    reasons = [x["reason"] for x in body["rejects"]]
    assert reasons[0] == "contains a NUL byte" and "longer than 131072 characters" in reasons[1]
    assert "never closes" in reasons[2]
    assert not FULL_NUMBER.search(r.text)
    assert [lead(api, f"up-{n}")["variables"] for n in (1, 4, 6)] == [
        {"score": "NaN"}, {"score": "-inf"}, {"score": "Infinity"}]
    shown = api.get(f"/api/v1/campaigns/example/imports/{body['report_id']}").raise_for_status()
    assert shown.json()["rejects"] == body["rejects"]


def test_a_file_that_cannot_be_read_answers_422_with_its_report(api, example):
    files = {
        "utf16.csv": "phone_number,first_name\n+14155550301,Ana\n".encode("utf-16"),
        "book.xlsx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb6\xff\xfe\n+14155550301\n",
        "wide.csv": ("phone_number," + "n" * (csv.field_size_limit() + 1) + "\n+14155550301,a\n").encode(),
        "quote.csv": b'phone_number,"first_name\n+14155550301,Ana\n',
        "noheader.csv": b"+14155550301,Ana\n",
        "empty.csv": b"",
    }
    for name, content in files.items():
        r = upload(api, content, name)
        assert r.status_code == 422, (name, r.status_code, r.text)
        detail = r.json()["detail"]
        assert detail["error"].startswith(f"upload {name} by admin: ") and detail["imported"] == 0, name
        assert not FULL_NUMBER.search(r.text), name
        stored = api.get(f"/api/v1/campaigns/example/imports/{detail['report_id']}").raise_for_status().json()
        assert stored["error"] == detail["error"], name
    assert lead(api, "+14155550301") is None


def test_adding_a_lead_that_exists_is_a_conflict_that_changes_nothing(api, example):
    before = lead(api, "crm-1000")
    same_phone = api.post("/api/v1/campaigns/example/leads", json={
        "phone_number": before["phone_number"], "variables": {"first_name": "Someone else"}})
    assert same_phone.status_code == 409, same_phone.text
    detail = same_phone.json()["detail"]
    assert "phone_number" in detail["message"] and "+*******0000" in detail["message"]
    assert [(c["field"], c["lead_id"]) for c in detail["conflicts"]] == [("phone_number", before["id"])]
    assert not FULL_NUMBER.search(same_phone.text)

    same_id = api.post("/api/v1/campaigns/example/leads", json={
        "phone_number": "+14155550399", "external_id": "crm-1000", "variables": {"plan": "free"}})
    assert same_id.status_code == 409 and "external_id" in same_id.json()["detail"]["message"]
    assert lead(api, "crm-1000") == before
    assert lead(api, "+14155550399") is None

    fresh = api.post("/api/v1/campaigns/example/leads", json={"phone_number": "+14155550399", "external_id": "new-1"})
    assert fresh.status_code == 201 and fresh.json()["imported"] == 1


def test_two_uploads_into_one_campaign_at_once_both_land(api, example, hook):
    files = ["phone_number,external_id,plan\n+14155550001,shared,x\n" + "".join(
        f"+1415{k}{i:04d},f{k}-{i},x\n" for i in range(1000)) for k in (666, 777)]
    barrier, answers = threading.Barrier(2), []

    def send(content):
        barrier.wait()
        answers.append(upload(api, content.encode()))

    threads = [threading.Thread(target=send, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert sorted(a.status_code for a in answers) == [201, 201], [a.text[:300] for a in answers]
    counts = sorted((a.json()["imported"], a.json()["updated"], a.json()["rejected"]) for a in answers)
    assert counts == [(1000, 1, 0), (1001, 0, 0)]
    with hook.db.cursor() as cur:
        cur.execute("select count(*) from outcall_leads where campaign_id = %s", (example["campaign_id"],))
        assert cur.fetchone()[0] == 200 + 2001
    hook.db.commit()


def test_a_lead_by_hand_with_a_variable_name_that_cannot_be_a_column_is_a_422(api, example):
    for name in ("secondary_phone_11", "notes\x00"):
        r = api.post("/api/v1/campaigns/example/leads", json={"phone_number": "+14155550398", "variables": {name: "x"}})
        assert r.status_code == 422, (name, r.status_code, r.text)
    assert lead(api, "+14155550398") is None


def test_a_lead_by_hand_may_not_name_a_variable_like_an_outcall_call_parameter(api, example):
    for name in ("lead_id", "campaign"):
        r = api.post("/api/v1/campaigns/example/leads", json={"phone_number": "+14155550397", "variables": {name: "x"}})
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert f"`{name}`" in r.text and "outcall itself hands the assistant" in r.text
    assert lead(api, "+14155550397") is None
