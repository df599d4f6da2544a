"""Serializers built once per process for the API's hot routes: ``validated()`` and
``represent()``.

DRF builds a serializer's fields anew for every instance (a deep copy of the declared fields,
each re-created from its arguments), and a route usually makes two (the input, the answer),
three or four with nested ones. On a coupon redemption that was a quarter of the request's
Python; the routes partners call hundreds of times a second (redemption, points earn and
redeem, lead claims) use one instance per serializer class and process instead.

Sharing is safe for plain serializers: ``run_validation`` and ``to_representation`` keep
nothing on the instance between calls (the answers and the errors are return values), so
threads may call them at once. Not for a serializer that reads ``self.context``,
``self.instance`` or ``self.initial_data``, or stores anything in ``validate``: give those
their own instance as before.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.settings import api_settings


@cache
def _shared(serializer_class: type[serializers.Serializer[Any]]) -> serializers.Serializer[Any]:
    return serializer_class()


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """``serializer_class(data=data)``'s ``validated_data`` after ``is_valid(raise_exception=
    True)``: the same values, the same ``ValidationError`` (field errors by name, "No data
    provided" for a missing body)."""
    try:
        return dict(_shared(serializer_class).run_validation(data))
    except ValidationError as exc:
        detail = exc.detail
        if (
            isinstance(detail, list)
            and len(detail) == 1
            and getattr(detail[0], "code", "") == "null"
        ):
            detail = {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail("No data provided", "null")]}
        raise ValidationError(detail) from None


def represent(serializer_class: type[serializers.Serializer[Any]], value: Any) -> dict[str, Any]:
    """``serializer_class(value).data``."""
    return dict(_shared(serializer_class).to_representation(value))


def represent_many(
    serializer_class: type[serializers.Serializer[Any]], values: Any
) -> list[dict[str, Any]]:
    """``serializer_class(values, many=True).data``."""
    shared = _shared(serializer_class)
    return [dict(shared.to_representation(value)) for value in values]
