"""Demo coupons on the demo master: the dealership's "buy a car, get a property-fee coupon"
template (funded by the dealership, redeemable at the property company) with its trigger rule,
the logistics company's supermarket coupons (funded half and half), a campaign, and some
coupons issued, redeemed across units (settlement lines) and voided. Deterministic and safe
to run twice: the templates and rules are found by name, each coupon carries a reference."""

from __future__ import annotations

import random
from contextlib import suppress
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns import services
from campaigns.errors import CouponError
from campaigns.models import (
    TRANSACTION_EVENT,
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Coupon,
    CouponKind,
    CouponTemplate,
    IssueSource,
    TriggerRule,
)
from crm.errors import DomainError
from crm.models import BusinessUnit, Customer, CustomerKind, User

SEED = 21
CAR_TEMPLATE = "购车礼遇 · 物业费抵扣券 500 元"
MART_TEMPLATE = "物流客户专享 · 超市满 200 减 30"


def _template(name: str, unit: BusinessUnit, funders, redeemable, **fields) -> CouponTemplate:
    template = CouponTemplate.objects.filter(name=name, business_unit=unit).first()
    if template is None:
        template = CouponTemplate.objects.create(name=name, business_unit=unit, **fields)
        services.set_funding(template=template, shares=funders)
        template.redeemable_units.set(redeemable)
    return template


def load_campaigns_demo() -> dict[str, int]:
    units = {u.code: u for u in BusinessUnit.objects.all()}
    if not {"AUTO", "PROP", "MART", "LOGI"} <= set(units):
        return {}
    owner = (
        User.objects.filter(username="marketing").first()
        or User.objects.filter(is_superuser=True).first()
    )
    if owner is None:
        return {}
    auto, prop, mart, logi = units["AUTO"], units["PROP"], units["MART"], units["LOGI"]
    today = timezone.localdate()
    campaign, _created = Campaign.objects.get_or_create(
        name="购车季 · 物业费礼遇",
        business_unit=auto,
        defaults={
            "goal": "新车车主入住星辰物业小区，首年物业费抵扣 500 元，带动物业与车后服务。",
            "starts_on": today.replace(day=1),
            "ends_on": today.replace(day=1) + timedelta(days=180),
            "budget": Decimal("200000"),
            "channels": [CampaignChannel.SMS, CampaignChannel.WECHAT, CampaignChannel.STORE],
            "owner": owner,
        },
    )
    for status in (CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE):
        with suppress(DomainError):
            services.change_campaign_status(campaign=campaign, status=status)
    car = _template(
        CAR_TEMPLATE,
        auto,
        [(auto, Decimal("100"))],
        [prop],
        kind=CouponKind.FIXED,
        value=Decimal("500"),
        minimum_spend=Decimal("1000"),
        valid_days=365,
        stock=5000,
        per_customer_limit=1,
        terms="限星辰物业管理的小区缴纳物业费时使用，每户限用一张，不找零、不兑现。",
        created_by=owner,
    )
    mart_template = _template(
        MART_TEMPLATE,
        logi,
        [(logi, Decimal("50")), (mart, Decimal("50"))],
        [mart],
        kind=CouponKind.FIXED,
        value=Decimal("30"),
        minimum_spend=Decimal("200"),
        valid_days=60,
        stock=20000,
        per_customer_limit=3,
        terms="星辰超市全部门店可用，满 200 元减 30 元。",
        created_by=owner,
    )
    if not TriggerRule.objects.filter(template=car).exists():
        services.save_trigger_rule(
            TriggerRule(
                name="买车满 10 万送物业费抵扣券",
                event_type=TRANSACTION_EVENT,
                source_business_unit=auto,
                min_amount=Decimal("100000"),
                template=car,
                funding_business_unit=auto,
                budget_count=1000,
                budget_value=Decimal("500000"),
                owner=owner,
            )
        )
    people = list(
        Customer.objects.filter(kind=CustomerKind.PERSON, merged_into__isnull=True).order_by("pk")[
            :60
        ]
    )
    rng = random.Random(SEED)  # noqa: S311 (demo data, not a secret)
    counts = {"issued": 0, "redeemed": 0, "voided": 0}
    start = timezone.now() - timedelta(days=40)
    for n, person in enumerate(people):
        template = car if n % 2 == 0 else mart_template
        reference = f"DEMO-{n}"
        coupon = Coupon.objects.filter(source_reference=reference, customer=person).first()
        if coupon is None:
            try:
                coupon = services.issue_coupon(
                    template=template,
                    customer=person,
                    source=IssueSource.DESK,
                    source_reference=reference,
                    campaign=campaign if template == car else None,
                    actor=owner,
                    now=start + timedelta(hours=n * 7),
                )
            except (CouponError, DomainError):
                continue
            counts["issued"] += 1
        roll = rng.random()
        redeem_at = coupon.issued_at + timedelta(days=rng.randint(1, 20))
        choices = ["1280", "2560", "3600"] if template == car else ["268", "415", "890"]
        amount = Decimal(rng.choice(choices))
        if roll < 0.45 and coupon.status == "issued":
            with suppress(CouponError, DomainError):
                services.redeem_coupon(
                    code=coupon.code,
                    business_unit=prop if template == car else mart,
                    reference=f"DEMO-R-{n}",
                    order_amount=amount,
                    now=min(redeem_at, timezone.now()),
                )
                counts["redeemed"] += 1
        elif roll > 0.95 and coupon.status == "issued":
            counts["voided"] += services.void_coupons(coupons=[coupon.pk], reason="演示：发错客户")
    counts["templates"] = CouponTemplate.objects.count()
    counts["rules"] = TriggerRule.objects.count()
    return counts
