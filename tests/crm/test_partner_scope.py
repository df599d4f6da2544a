"""A partner key reads and writes its own unit's data, not the customer's: the attack of a
BU-B key on a BU-A customer, step by step."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from crm import services
from crm.models import Customer, Identity
from crm.services import IdentityInput
from tests.conftest import key_client

pytestmark = pytest.mark.django_db

A_PHONE = "13800138000"


@pytest.fixture
def a_customer(unit_a, issue_key):
    """A's POS knows 王伟 by phone, e-mail and WeChat."""
    _k, raw = issue_key(unit_a, ["transactions:write"], name="A POS")
    body = {
        "source": "pos",
        "external_id": "A-1",
        "occurred_at": "2026-11-20T10:00:00+08:00",
        "amount": "500.00",
        "channel": "store",
        "customer": {
            "display_name": "王伟",
            "identities": [
                {"type": "mobile", "value": A_PHONE},
                {"type": "email", "value": "wangwei@a.example"},
                {"type": "wechat_unionid", "value": "oA-union-1"},
            ],
        },
    }
    response = key_client(raw).post(
        "/api/v1/transactions/",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="a1",
    )
    assert response.status_code == 201
    return Customer.objects.get(pk=response.json()["customer"])


def push(client, key, **changes):
    body = {
        "source": "bpos",
        "external_id": "B-1",
        "occurred_at": "2026-11-24T10:00:00+08:00",
        "amount": "1.00",
        "channel": "store",
        "customer": {
            "display_name": "冒名",
            "identities": [
                {"type": "mobile", "value": A_PHONE},
                {"type": "email", "value": "new@b.example"},
            ],
        },
        **changes,
    }
    body = {k: v for k, v in body.items() if v is not None}  # None: leave the field out
    return client.post(
        "/api/v1/transactions/",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_b_key_learns_nothing_of_a_and_changes_nothing_a_recorded(a_customer, unit_b, issue_key):
    _k, raw = issue_key(
        unit_b, ["transactions:write", "transactions:read", "customers:read"], name="B POS"
    )
    b = key_client(raw)
    zero = push(b, "b0", amount="0.00")
    assert zero.status_code == 400 and list(zero.json()["errors"]) == ["amount"]

    pushed = push(b, "b1")
    assert pushed.status_code == 201
    secrets = ("王伟", "wangwei", "oA-union", "8000", "138")
    # Everything B can read afterwards: the push's answer, its orders, the customer, a lookup.
    reads = [
        pushed,
        b.get("/api/v1/transactions/"),
        b.get(f"/api/v1/customers/{a_customer.pk}/"),
        b.get(f"/api/v1/customers/?mobile={A_PHONE}"),
        b.get("/api/v1/customers/?email=wangwei@a.example"),
        b.get("/api/v1/customers/?email=new@b.example"),
    ]
    for response in reads:
        assert response.status_code in (200, 201), response.content
        text = json.dumps(response.json(), ensure_ascii=False)
        assert not any(s in text for s in secrets), text
    seen = reads[2].json()
    assert seen["id"] == a_customer.pk
    assert seen["display_name"] is seen["kind"] is seen["created_at"] is None
    assert [i["type"] for i in seen["identities"]] == ["email"]  # the one B supplied, masked
    assert reads[3].json() == [] and reads[4].json() == []
    assert [c["id"] for c in reads[5].json()] == [a_customer.pk]

    a_customer.refresh_from_db()
    assert a_customer.display_name == "王伟" and not a_customer.name_is_generated
    identities = {(i.type, i.value): i for i in a_customer.identities.all()}
    assert set(identities) == {
        ("mobile", "+8613800138000"),
        ("email", "wangwei@a.example"),
        ("wechat_unionid", "oA-union-1"),
        ("email", "new@b.example"),
    }
    added = identities[("email", "new@b.example")]
    assert (added.verified, added.source, added.business_unit) == (False, "bpos", unit_b)
    assert identities[("mobile", "+8613800138000")].business_unit.code == "AUTO"


def test_verified_cannot_be_set_through_the_api(unit_b, issue_key):
    _k, raw = issue_key(unit_b, ["transactions:write"])
    response = push(
        key_client(raw),
        "v",
        customer={"identities": [{"type": "mobile", "value": A_PHONE, "verified": True}]},
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["customer.identities[0].verified"]
    assert not Identity.objects.exists()


def test_a_name_fills_only_a_generated_placeholder(unit_a, unit_b):
    placeholder = services.resolve_customer(
        identities=[IdentityInput("mobile", "13900139000")], source="pos", business_unit=unit_a
    ).customer
    assert placeholder.name_is_generated
    services.ingest_transaction(
        business_unit=unit_b,
        source="bpos",
        row=services.TransactionInput(
            external_id="N-1",
            occurred_at=placeholder.created_at,
            amount="5",
            channel="store",
            identities=[IdentityInput("mobile", "13900139000")],
            customer_attributes={"display_name": "李娜"},
        ),
    )
    placeholder.refresh_from_db()
    assert (placeholder.display_name, placeholder.name_is_generated) == ("李娜", False)


def test_staff_still_see_everything(a_customer, client, admin_user):
    client.force_login(admin_user)
    body = client.get(f"/api/v1/customers/{a_customer.pk}/").json()
    assert body["display_name"] == "王伟" and len(body["identities"]) == 3


def test_an_order_push_costs_a_fixed_number_of_queries(
    unit_a, issue_key, django_assert_num_queries
):
    """For a known customer, 6 statements: the key with its throttle count, the idempotency
    lock with the stored answer (one statement), the order-id check, the owners
    (share-locked), the insert (its RETURNING answers the response) and the stored response;
    with the request's BEGIN and COMMIT (here the test transaction's savepoint and release)
    8. A new customer adds three inserts (customer, timeline event, identities)."""
    _k, raw = issue_key(unit_a, ["transactions:write"])
    client = key_client(raw)

    def order(n: int, phone: str):
        return push(
            client,
            f"q{n}",
            external_id=f"Q-{n}",
            customer={"identities": [{"type": "mobile", "value": phone}]},
        )

    assert order(0, "13900139000").status_code == 201  # the key's last_used_at is set once
    with django_assert_num_queries(11):
        assert order(1, "13800138000").status_code == 201  # a new customer
    with django_assert_num_queries(8):
        assert order(2, "13800138000").status_code == 201  # a known one


def test_identities_stored_before_provenance_are_attributed_only_when_certain(unit_a, unit_b):
    import importlib

    from django.db import connection

    backfill = importlib.import_module("crm.migrations.0010_backfill_identity_units").backfill
    for n, units in enumerate([[unit_a], [unit_a, unit_b]]):
        customer = Customer.objects.create(display_name=f"旧{n}")
        Identity.objects.create(
            customer=customer, type="mobile", value=f"+861380013800{n}", source="pos"
        )
        for m, unit in enumerate(units):
            services.ingest_transaction(
                business_unit=unit,
                source="pos",
                row=services.TransactionInput(
                    external_id=f"OLD-{n}-{m}",
                    occurred_at=customer.created_at,
                    amount="5",
                    channel="store",
                    identities=[IdentityInput("mobile", f"1380013800{n}")],
                ),
            )
    Identity.objects.update(business_unit=None)  # as stored before the column existed

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    backfill(None, editor)
    units = dict(Identity.objects.values_list("customer__display_name", "business_unit__code"))
    assert units == {"旧0": "AUTO", "旧1": None}  # two units sell under "pos": nobody's


def test_an_order_id_taken_after_the_check_is_refused_not_a_500(unit_a, unit_b, monkeypatch):
    """The insert's ON CONFLICT path, forced: the pre-check saw nothing (another unit stored
    the id just after it), so the conflict is found after the insert."""
    from crm.services import transactions

    def row(unit_amount: str) -> services.TransactionInput:
        return services.TransactionInput(
            external_id="RACE-1", occurred_at=timezone.now(), amount=unit_amount, channel="store"
        )

    services.ingest_transaction(business_unit=unit_b, source="pos", row=row("9.00"))
    monkeypatch.setattr(transactions, "_skip_stored", lambda unit, source, rows, part, **kw: rows)
    with pytest.raises(services.ExternalIdTaken):
        services.ingest_transaction(business_unit=unit_a, source="pos", row=row("1.00"))
    same_unit = services.ingest_transactions(business_unit=unit_b, source="pos", rows=[row("9")])
    assert (same_unit.created, same_unit.duplicates, same_unit.errors) == (0, 1, [])


def test_the_push_answers_what_is_stored(unit_a, issue_key):
    """The 201 is built from the insert's RETURNING, not read back: it must equal the row."""
    _k, raw = issue_key(unit_a, ["transactions:write", "transactions:read"])
    client = key_client(raw)
    original = push(client, "s1", external_id="S-1", amount="30.00", lines=[{"sku": "A"}])
    refund = push(
        client,
        "s2",
        external_id="S-2",
        amount="-10.00",
        kind="cancellation",
        original_external_id="S-1",
        customer=None,
    )
    assert (original.status_code, refund.status_code) == (201, 201), refund.content
    listed = {t["id"]: t for t in client.get("/api/v1/transactions/").json()["results"]}
    assert listed[refund.json()["id"]] == refund.json()
    assert refund.json()["original"] == original.json()["id"]
    assert refund.json()["customer"] == original.json()["customer"] is not None
    stored_original = listed[original.json()["id"]]
    assert {**original.json(), "status": "partly_refunded"} == stored_original
