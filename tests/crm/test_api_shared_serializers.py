"""The API's serializers built once per process (crm.api.shared): the same answers and the
same errors as a serializer made per request, and safe from many threads at once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm.api.shared import represent, represent_many, validated


class Inner(serializers.Serializer):
    code = serializers.CharField(max_length=10)


class Order(serializers.Serializer):
    reference = serializers.CharField(max_length=20)
    amount = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)
    lines = Inner(many=True, required=False)


def per_request_errors(data: object) -> object:
    incoming = Order(data=data)
    with pytest.raises(ValidationError) as caught:
        incoming.is_valid(raise_exception=True)
    return caught.value.detail


@pytest.mark.parametrize(
    "data",
    [
        {"reference": "", "amount": "-1"},
        {"amount": "1.234"},
        {"reference": "x" * 21, "amount": "1", "lines": [{"code": "y" * 11}, {}]},
        ["not", "an", "object"],
        None,
    ],
)
def test_errors_are_those_of_a_serializer_per_request(data):
    with pytest.raises(ValidationError) as caught:
        validated(Order, data)
    assert caught.value.detail == per_request_errors(data)


def test_values_and_answers_are_those_of_a_serializer_per_request():
    data = {"reference": "R-1", "amount": "12.50", "lines": [{"code": "A"}]}
    incoming = Order(data=data)
    incoming.is_valid(raise_exception=True)
    assert validated(Order, data) == dict(incoming.validated_data)
    value = {"reference": "R-1", "amount": Decimal("12.5"), "lines": [{"code": "A"}]}
    assert represent(Order, value) == Order(value).data
    assert represent_many(Order, [value, value]) == Order([value, value], many=True).data


def test_one_instance_serves_many_threads_at_once():
    """32 threads validate and represent their own values through the shared instance: each
    gets its own answer back, and the invalid ones their own errors."""
    barrier = threading.Barrier(32)
    wrong: list[str] = []

    def work(n: int) -> None:
        barrier.wait()
        for i in range(200):
            ref = f"T{n}-{i}"
            if (n + i) % 3 == 0:
                try:
                    validated(Order, {"reference": ref, "amount": f"-{n + 1}"})
                    wrong.append(f"{ref} accepted")
                except ValidationError as exc:
                    if set(exc.detail) != {"amount"}:
                        wrong.append(f"{ref}: {exc.detail}")
                continue
            got = validated(Order, {"reference": ref, "amount": f"{n}.{i % 100:02d}"})
            if got["reference"] != ref or got["amount"] != Decimal(f"{n}.{i % 100:02d}"):
                wrong.append(f"{ref}: {got}")
            shown = represent(Order, {**got, "lines": [{"code": ref[:10]}]})
            if shown["reference"] != ref or shown["lines"] != [{"code": ref[:10]}]:
                wrong.append(f"{ref}: {shown}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
