"""The leads API: a vendor key submits (one, a batch with a result per row) and sees only
its unit's submissions; refusals are problem+json naming the field; POSTs are idempotent."""

from __future__ import annotations

import uuid

import pytest

from leads.models import Lead
from leads.services import LeadInput, intake_lead
from tests.conftest import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/"


def post(client, url, body, key=None):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


@pytest.fixture
def vendor(unit_a, issue_key):
    _key, raw = issue_key(unit_a, ["leads:write"], name="线索供应商")
    return key_client(raw)


def test_a_vendor_submits_a_lead_and_a_resubmission_is_a_duplicate(vendor, unit_a):
    body = {"name": "韩梅梅", "phone": "138 0013 8000", "channel": "汽车之家", "external_ref": "V1"}
    first = post(vendor, URL, body)
    assert first.status_code == 201, first.content
    assert first.json()["outcome"] == "created"
    lead = first.json()["lead"]
    assert lead["phone"] == "138****8000" and lead["business_unit"] == "AUTO"
    assert lead["source"] == "partner_api"
    again = post(vendor, URL, {**body, "external_ref": "V2"})
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert again.json()["lead"]["id"] == lead["id"]
    assert Lead.objects.count() == 1


def test_the_same_idempotency_key_replays(vendor):
    body = {"name": "韩梅梅", "phone": "13800138000"}
    key = str(uuid.uuid4())
    first, second = post(vendor, URL, body, key), post(vendor, URL, body, key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert Lead.objects.count() == 1


def test_an_invalid_phone_is_a_problem_naming_the_field_and_nothing_is_stored(vendor):
    response = post(vendor, URL, {"name": "李雷", "phone": "12345"})
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert "phone" in problem["errors"]
    assert Lead.objects.count() == 0


def test_a_batch_answers_every_row(vendor):
    rows = [
        {"name": "甲", "phone": "13800138001"},
        {"name": "乙", "phone": "12345"},
        {"name": "甲again", "phone": "13800138001"},
        {"company": "丙公司", "email": "c@example.com"},
    ]
    response = post(vendor, URL + "batch/", {"leads": rows})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 1, 1)
    outcomes = [r["outcome"] for r in body["rows"]]
    assert outcomes == ["created", "error", "duplicate", "created"]
    assert body["rows"][1]["error"]["field"] == "phone"


def test_a_batch_over_500_is_refused(vendor):
    rows = [{"name": "x", "phone": f"138{i:08d}"} for i in range(501)]
    assert post(vendor, URL + "batch/", {"leads": rows}).status_code == 400
    assert Lead.objects.count() == 0


def test_a_vendor_lists_only_its_unit_s_submissions(vendor, unit_a, unit_b, issue_key):
    post(vendor, URL, {"name": "甲", "phone": "13800138001", "external_ref": "A-1"})
    intake_lead(business_unit=unit_a, data=LeadInput(name="展会", phone="13800138002"))
    _key, other_raw = issue_key(unit_b, ["leads:write"], name="别家")
    post(key_client(other_raw), URL, {"name": "乙", "phone": "13800138003"})
    listed = vendor.get(URL)
    assert listed.status_code == 200
    assert [row["external_ref"] for row in listed.json()["results"]] == ["A-1"]
    foreign = Lead.objects.get(phone="+8613800138003")
    own_form = Lead.objects.get(phone="+8613800138002")
    assert vendor.get(f"{URL}{foreign.pk}/").status_code == 404
    assert vendor.get(f"{URL}{own_form.pk}/").status_code == 404
    assert vendor.get(URL, {"external_ref": "A-1"}).json()["results"][0]["status"] == "new"


def test_a_key_without_the_scope_is_refused(unit_a, issue_key):
    _key, raw = issue_key(unit_a, ["customers:read"])
    assert post(key_client(raw), URL, {"name": "甲", "phone": "13800138001"}).status_code == 403


def test_a_rep_submits_through_a_session_and_sees_the_public_pool(rep_a, unit_a):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(rep_a)
    response = post(api, URL, {"name": "来电客户", "phone": "13800138009", "source": "call_in"})
    assert response.status_code == 201, response.content
    assert api.get(URL).json()["results"][0]["name"] == "来电客户"


def test_staff_claim_follow_up_and_convert_over_the_api(rep_a, rep_b, unit_a, public_pool, vendor):
    from rest_framework.test import APIClient

    def session(user):
        api = APIClient()
        api.force_login(user)
        return api

    first = intake_lead(business_unit=unit_a, data=LeadInput(name="甲", phone="13800138001")).lead
    intake_lead(business_unit=unit_a, data=LeadInput(name="乙", phone="13800138002"))
    a, b = session(rep_a), session(rep_b)
    claimed = post(a, f"{URL}{first.pk}/claim/", {})
    assert claimed.status_code == 200 and claimed.json()["status"] == "assigned"
    again = post(b, f"{URL}{first.pk}/claim/", {})
    assert again.status_code == 404  # another rep's lead does not exist for rep_b
    nxt = post(b, URL + "claim-next/", {"pool": public_pool.pk})
    assert nxt.status_code == 200 and nxt.json()["name"] == "乙"
    empty = post(b, URL + "claim-next/", {"pool": public_pool.pk})
    assert empty.status_code == 409 and empty.json()["code"] == "pool_empty"
    done = post(a, f"{URL}{first.pk}/follow-ups/", {"kind": "call", "note": "聊得不错"})
    assert done.status_code == 201 and done.json()["lead"]["status"] == "contacted"
    early = post(a, f"{URL}{first.pk}/convert/", {})
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    assert post(vendor, f"{URL}claim-next/", {"pool": public_pool.pk}).status_code == 403


def test_claim_next_answers_the_claimed_lead_without_reading_it_again(
    rep_a, unit_a, public_pool, django_assert_num_queries
):
    from rest_framework.test import APIClient

    intake_lead(business_unit=unit_a, data=LeadInput(name="甲", phone="13800138001"))
    intake_lead(business_unit=unit_a, data=LeadInput(name="乙", phone="13800138002"))
    api = APIClient()
    api.force_login(rep_a)
    first = api.post(URL + "claim-next/", {"pool": public_pool.pk}, format="json")
    assert first.status_code == 200 and first.json()["name"] == "甲"
    # Session, user (with permissions and units: one statement), throttle; the pool with its
    # unit; the claim (2 statements between SAVEPOINT and RELEASE here); nothing after it (14
    # with the claim's 6 statements, 17 when it read the rep's units again and re-read the
    # lead and its unit; 10 when the permissions and the units were a statement each).
    with django_assert_num_queries(8):
        answer = api.post(URL + "claim-next/", {"pool": public_pool.pk}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["name"], body["status"], body["business_unit"]) == ("乙", "assigned", "AUTO")
    assert body["updated_at"] and Lead.objects.get(pk=body["id"]).owner == rep_a
