"""The members API's OpenAPI documentation: replay semantics, errors with examples."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from crm.api.exceptions import PROBLEM_CONTENT_TYPE
from crm.api.schema import ProblemSerializer

REPLAY = _(
    "Two layers make a retry safe. (1) `Idempotency-Key` (every POST): the same key with the "
    "same body within 24 h replays the stored HTTP response byte for byte "
    "(`Idempotent-Replayed: true`); the same key with another body is 422. (2) The ledger's "
    "`(business unit, reference)`: whatever the key, a request whose reference this unit "
    "already used for this kind of movement applies once: it answers 200 with "
    "`replayed: true` and the entries the first request wrote (the first answered 201), "
    "even days later and after other movements; the same reference with other content "
    "(another amount or number of points, another member) is refused with 409 "
    "`reference_reused`. Send a new reference only for a new order or redemption."
)

MEMBER_PATH = _(
    "`member`: a member number (`8000000126`), a card's QR value (`CRMM:8000000126`) or the "
    "app's signed QR value (`CRMM:8000000126:1wAbCd:sig…`, valid 5 minutes). A number or a "
    "card's QR value finds the members your unit enrolled or served; a signed QR value, shown "
    "by the member at your counter, finds any member of the group's programme."
)


def _problem(status: int, code: str, detail: str) -> dict[str, Any]:
    titles = {400: "Bad Request", 404: "Not Found", 409: "Conflict"}
    return {
        "type": f"/api/problems/{code}",
        "title": titles[status],
        "status": status,
        "code": code,
        "detail": detail,
    }


def problems(status: int, *codes: tuple[str, str]) -> dict[Any, OpenApiResponse]:
    """A documented problem+json response with one example per error code."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer,
            description=", ".join(f"`{code}`" for code, _detail in codes),
            examples=[
                OpenApiExample(code, value=_problem(status, code, detail), response_only=True)
                for code, detail in codes
            ],
        )
    }


NOT_A_MEMBER = ("not_a_member", "No such member.")
FROZEN = (
    "member_frozen",
    "This membership is frozen (lost card): it neither earns nor spends points.",
)
BLACKLISTED = (
    "customer_blacklisted",
    "This customer is blacklisted since 2026-11-02 (fraud): no points.",
)
INSUFFICIENT = ("insufficient_points", "Only 40 points are available; 100 were asked for.")
REUSED = ("reference_reused", "Order “SO-1001” already earned points for another amount.")
NO_RULE = ("no_earning_rule", "This business unit has no active earning rule.")

MEMBER_EXAMPLE = OpenApiExample(
    "A gold member",
    value={
        "number": "8000000126",
        "qr_value": "CRMM:8000000126",
        "status": "active",
        "customer": 1024,
        "enrolled_business_unit": "AUTO",
        "channel": "store",
        "enrolled_at": "2026-03-01T10:00:00+08:00",
        "level": {"code": "gold", "name": "金卡会员", "rank": 2, "multiplier": "1.50"},
        "progress": {
            "next_level": {"code": "diamond", "name": "钻石会员", "rank": 3, "multiplier": "2.00"},
            "measure": "12000.00",
            "needed": "18000.00",
            "percent": 40,
        },
        "balance": 5320,
        "expiring_points": 300,
        "expiring_before": "2027-01-06T10:00:00+08:00",
    },
    response_only=True,
)

RESULT_EXAMPLE = OpenApiExample(
    "Earned for an order",
    value={
        "member": "8000000126",
        "replayed": False,
        "points": 268,
        "balance": 5588,
        "entries": [
            {
                "id": 90211,
                "kind": "earn",
                "points": 268,
                "unrecovered": 0,
                "business_unit": "MART",
                "reference": "SO-1001",
                "order_reference": "SO-1001",
                "reason": "purchase",
                "created_at": "2026-12-07T10:15:00+08:00",
            }
        ],
    },
    response_only=True,
)
