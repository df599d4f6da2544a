"""The order push answers with exactly what the transaction serializer says of the stored
order (it serializes through one shared serializer, built once per process)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm.api.transactions import TransactionSerializer
from crm.models import Transaction
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def _push(client: Any, body: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/transactions/",
        body,
        format="json",
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def test_the_answer_is_the_serializers_both_times(unit_a: Any, issue_key: Any) -> None:
    _key, raw = issue_key(unit_a, ["transactions:write", "transactions:read"])
    pos = key_client(raw)
    body = {
        "source": "pos",
        "external_id": "SH-1",
        "occurred_at": "2026-11-24T10:15:00+08:00",
        "amount": "268.5",
        "channel": "store",
        "lines": [{"sku": "A-1", "qty": 2}],
        "customer": {"identities": [{"type": "mobile", "value": "138 0013 8000"}]},
    }
    first = _push(pos, body)
    assert first.status_code == 201
    stored = Transaction.objects.select_related("business_unit").get(external_id="SH-1")
    expected = dict(TransactionSerializer(stored).data)
    assert first.json() == expected
    assert expected["amount"] == "268.50" and expected["business_unit"] == "AUTO"
    assert expected["occurred_at"].endswith("Z") or "+" in expected["occurred_at"]
    again = _push(pos, body)  # the same order again: 200 with the stored order
    assert again.status_code == 200 and again.json() == expected
    cancel = _push(
        pos,
        {
            **body,
            "external_id": "SH-1-R",
            "kind": "cancellation",
            "amount": "-10.00",
            "original_external_id": "SH-1",
        },
    )
    assert cancel.status_code == 201
    refund = Transaction.objects.select_related("business_unit").get(external_id="SH-1-R")
    assert cancel.json() == dict(TransactionSerializer(refund).data)
    assert cancel.json()["original"] == stored.pk
