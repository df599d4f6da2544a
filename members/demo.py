"""Demo loyalty data on the demo master's people: earning rules for every unit, a point
value, a few hundred members across levels with two years of ledger history (earns,
cross-unit redemptions, reversals, expiry), some points expiring within 30 days and one large
adjustment waiting for approval. Deterministic and safe to run twice: members are enrolled
once and every movement carries a reference, so a second run changes nothing."""

from __future__ import annotations

import random
from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from crm.models import BusinessUnit, Customer, CustomerKind, User
from members import services
from members.errors import InsufficientPoints
from members.models import EarningRule, EnrolmentChannel, Member, PointValue

SEED = 18
RATES = {"AUTO": "0.01", "PROP": "0.05", "MART": "1", "LOGI": "0.1"}


def _configure(units: list[BusinessUnit]) -> None:
    PointValue.objects.get_or_create(valid_from=date(2024, 1, 1), defaults={"value": "0.0100"})
    for unit in units:
        EarningRule.objects.get_or_create(
            business_unit=unit,
            defaults={
                "points_per_unit": Decimal(RATES.get(unit.code, "1")),
                "cap_per_transaction": 20000,
                "cap_per_day": 50000,
                "enrolment_bonus": 100 if unit.code == "MART" else 0,
                "birthday_multiplier": Decimal("2.00"),
                "first_purchase_bonus": 200,
            },
        )


def load_members_demo(count: int = 300) -> dict[str, int]:
    units = list(BusinessUnit.objects.filter(is_active=True).order_by("code"))
    people = list(Customer.objects.live().filter(kind=CustomerKind.PERSON).order_by("id")[:count])
    if not units or not people:
        return {"members": 0}
    _configure(units)
    rng = random.Random(SEED)  # noqa: S311  (demo data)
    now = timezone.now()
    channels = EnrolmentChannel.values
    desk = User.objects.filter(username="service").first()
    for n, person in enumerate(people):
        unit = units[n % len(units)]
        start = now - timedelta(days=rng.randint(60, 760))
        enrolment = services.enrol_member(
            business_unit=unit, channel=channels[n % len(channels)], customer=person, now=start
        )
        if not enrolment.created:  # loaded before: its history is there
            continue
        member = enrolment.member
        at = start
        for k in range(rng.randint(1, 6)):
            at = min(now, at + timedelta(days=rng.randint(5, 120)))
            where = rng.choice(units)
            amount = Decimal(rng.choice([88, 199, 520, 1288, 3600, 12800, 260000]))
            if where.code == "AUTO" and amount < 10000:
                amount *= 20
            services.earn_points(
                member=member,
                business_unit=where,
                reference=f"DEMO-{n}-{k}",
                amount=amount,
                now=at,
            )
            if rng.random() < 0.35:  # spent somewhere else
                with suppress(InsufficientPoints):
                    services.redeem_points(
                        member=member,
                        business_unit=rng.choice(units),
                        points=rng.randint(50, 800),
                        reference=f"DEMO-R-{n}-{k}",
                        now=at + timedelta(days=1),
                    )
            if rng.random() < 0.05:
                services.reverse_order(
                    member=member,
                    business_unit=where,
                    order_reference=f"DEMO-{n}-{k}",
                    reference=f"DEMO-C-{n}-{k}",
                    now=at + timedelta(days=2),
                )
        if n % 15 == 0:  # points expiring within the next month
            services.apply_adjustment(
                member=member,
                business_unit=unit,
                points=300,
                reason="活动赠送",
                actor=desk,
                reference=f"DEMO-GIFT-{n}",
                expires_at=now + timedelta(days=12),
                now=now - timedelta(days=1),
            )
    services.expire_due_points(now=now)
    services.evaluate_levels(now=now)
    if desk is not None and desk.has_perm("members.adjust_points"):
        first = Member.objects.order_by("id").first()
        if first is not None and not first.adjustment_proposals.exists():
            services.adjust_points(
                member=first,
                business_unit=first.enrolled_business_unit,
                points=5000,
                reason="大客户投诉补偿（待复核）",
                user=desk,
            )
    return {"members": Member.objects.count()}
