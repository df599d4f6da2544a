"""Demo lead pools: every unit's public pool (公海) and a team pool at the car dealership
with the demo rep and manager, and the dealership's routing rules (trade-show leads and leads
from Suzhou and Wuxi to the team pool, Hangzhou's car-portal leads straight to the demo rep),
which route the leads submitted without a pool; a few hundred leads from every source over
the last 90 days (some of them customers the master already knows), worked through the
services: the demo rep holds leads at every stage (one about to be recycled, follow-ups due
today), some leads are converted or lost, and marketing's channel spend is recorded for the
last three months, so the rep finds work on the first screen and the funnel has figures.
Deterministic; a second run changes nothing."""

from __future__ import annotations

import random
from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.demo_synthetic import FAMILY, GIVEN
from crm.errors import DomainError
from crm.models import BusinessUnit, Customer, CustomerKind, Identity, User
from leads import services
from leads.models import (
    ChannelCost,
    Lead,
    LeadPool,
    LeadPoolMember,
    LeadSource,
    PoolKind,
    RoutingRule,
)

SEED = 19
PER_UNIT = {"AUTO": 120, "PROP": 60, "MART": 30, "LOGI": 40}
CHANNELS = [
    (LeadSource.AD, "百度推广", "AD-2026-Q1"),
    (LeadSource.AD, "抖音信息流", "AD-DY-01"),
    (LeadSource.PARTNER_API, "汽车之家", "AH-2026"),
    (LeadSource.TRADE_SHOW, "上海车展", "SHOW-2026"),
    (LeadSource.WEB_FORM, "官网", ""),
    (LeadSource.REFERRAL, "", ""),
    (LeadSource.CALL_IN, "400 热线", ""),
]
COMPANIES = ["远航物流", "恒通贸易", "金桥建设", "华信科技", "东方制造", "新锐传媒", "海鸥食品"]
REGIONS = ["上海", "杭州", "苏州", "南京", "宁波", "无锡"]


def _pools(unit: BusinessUnit, users: dict[str, User]) -> tuple[LeadPool, LeadPool | None]:
    public = services.public_pool(unit)
    team = None
    if unit.code == "AUTO":
        team, _created = LeadPool.objects.get_or_create(
            business_unit=unit,
            name="华东销售组",
            defaults={"kind": PoolKind.TEAM, "hold_limit": 30, "daily_claim_quota": 15},
        )
        for username, role in (("rep", "rep"), ("manager", "manager")):
            if username in users:
                LeadPoolMember.objects.get_or_create(
                    pool=team, user=users[username], defaults={"role": role}
                )
        _rules(unit, team, users.get("rep"))
    return public, team


def _rules(unit: BusinessUnit, team: LeadPool, rep: User | None) -> None:
    """The dealership's routing rules, validated as the admin would (once: by name)."""
    rules: list[dict[str, Any]] = [
        {"name": "车展线索进华东组", "priority": 20, "sources": [LeadSource.TRADE_SHOW]},
        {"name": "苏州无锡进华东组", "priority": 30, "regions": ["苏州", "无锡"]},
    ]
    if rep is not None:
        rules.append(
            {
                "name": "杭州汽车之家直派",
                "priority": 10,
                "regions": ["杭州"],
                "sources": [LeadSource.PARTNER_API],
                "rep": rep,
            }
        )
    for spec in rules:
        if RoutingRule.objects.filter(business_unit=unit, name=spec["name"]).exists():
            continue
        rule = RoutingRule(business_unit=unit, pool=team, **spec)
        rule.full_clean()
        rule.save()


def _known_people(limit: int) -> list[str]:
    """Phones of the master's people: some leads are customers the group already knows."""
    ids = Customer.objects.live().filter(kind=CustomerKind.PERSON).values("pk")[:limit]
    return list(
        Identity.objects.filter(customer__in=ids, type="mobile").values_list("value", flat=True)
    )


def _spend(unit: BusinessUnit, rng: random.Random, today: date) -> int:
    month = today.replace(day=1)
    made = 0
    for _back in range(3):
        for source, channel, code in CHANNELS:
            if source in (LeadSource.REFERRAL, LeadSource.CALL_IN):
                continue
            _row, created = ChannelCost.objects.get_or_create(
                business_unit=unit,
                source=source,
                channel=channel,
                campaign_code=code,
                month=month,
                defaults={"amount": Decimal(rng.choice([3000, 5000, 8000, 12000, 20000]))},
            )
            made += created
        month = (month - timedelta(days=1)).replace(day=1)
    return made


def load_leads_demo() -> dict[str, Any]:
    if Lead.objects.filter(external_ref__startswith="DEMO-").exists():
        return {"leads": 0, "already_loaded": True}
    units = list(BusinessUnit.objects.filter(is_active=True).order_by("code"))
    users = {u.username: u for u in User.objects.filter(username__in=["rep", "manager", "admin"])}
    rng = random.Random(SEED)  # noqa: S311  (demo data)
    now = timezone.now()
    known = _known_people(40)
    counts = {"leads": 0, "claimed": 0, "converted": 0, "lost": 0, "spend_rows": 0}
    serial = 0
    for unit in units:
        _public, team = _pools(unit, users)
        counts["spend_rows"] += _spend(unit, rng, timezone.localdate(now))
        made: list[Lead] = []
        for _n in range(PER_UNIT.get(unit.code, 20)):
            serial += 1
            source, channel, code = rng.choice(CHANNELS)
            company = rng.choice(COMPANIES) + "有限公司" if rng.random() < 0.3 else ""
            phone = known.pop() if known and rng.random() < 0.15 else f"+86137{serial:08d}"
            data = services.LeadInput(
                name=rng.choice(FAMILY) + "".join(rng.choice(GIVEN) for _ in range(2)),
                company=company,
                phone=phone,
                region=rng.choice(REGIONS),
                source=source,
                channel=channel,
                campaign_code=code,
                score=rng.randint(10, 95),
                external_ref=f"DEMO-{serial}",
            )
            created_at = now - timedelta(days=rng.randint(0, 85), hours=rng.randint(0, 9))
            # Some leads are sent to the team pool; the others are routed by the unit's rules
            # (no rule matching: the public pool).
            pool = team if team is not None and rng.random() < 0.3 else None
            with suppress(DomainError):
                result = services.intake_lead(
                    business_unit=unit, data=data, pool=pool, now=created_at
                )
                if result.created:
                    made.append(result.lead)
        counts["leads"] += len(made)
        rep = users.get("rep")
        if rep is not None and rep.business_units.filter(pk=unit.pk).exists():
            counts.update(_work(made, rep, users.get("manager"), rng, now, counts))
    return counts


def _work(
    leads: list[Lead], rep: User, manager: User | None, rng: random.Random, now: Any, counts: dict
) -> dict[str, int]:
    """The rep's desk: leads at every stage, within their recycling deadlines."""
    pending = [lead for lead in leads if not lead.quarantined and lead.owner_id is None]
    rng.shuffle(pending)
    plan = ["new"] * 4 + ["contacted"] * 5 + ["qualified"] * 3 + ["converted"] * 3 + ["lost"] * 3
    plan += ["warned"]  # followed up long ago: warned by the next beat
    for step, lead in zip(plan, pending, strict=False):
        claimed_at = now - timedelta(days=rng.randint(1, 2), hours=rng.randint(0, 5))
        if step == "warned":
            claimed_at = now - timedelta(days=2, hours=12)
        try:
            services.claim_lead(lead=lead, user=rep, now=claimed_at)
        except DomainError:
            continue
        counts["claimed"] += 1
        if step in ("new", "warned"):
            continue
        touched = claimed_at + timedelta(hours=3)
        services.log_follow_up(
            lead=lead,
            user=rep,
            kind=rng.choice(["call", "visit", "message", "meeting"]),
            note=rng.choice(
                ["客户有意向，约下周到店", "已发资料，等待回复", "询问了价格和交付时间"]
            ),
            outcome="interested",
            next_step="再次联系",
            next_action_at=now + timedelta(hours=rng.randint(1, 30)),
            occurred_at=touched,
            now=touched,
        )
        if step == "contacted":
            continue
        if step == "lost":
            services.lose_lead(lead=lead, user=rep, reason=rng.choice(["budget", "competitor"]))
            counts["lost"] += 1
            continue
        services.qualify_lead(lead=lead, user=rep, now=touched)
        if step == "converted" and not lead.company:
            with suppress(DomainError):
                services.convert_lead(lead=lead, user=rep, now=touched + timedelta(hours=1))
                counts["converted"] += 1
    # A manager's assignment: one more lead handed to the rep.
    rest = [lead for lead in pending[len(plan) :] if lead.owner_id is None]
    if manager is not None and rest:
        with suppress(DomainError):
            services.assign_lead(lead=rest[0], to_user=rep, actor=manager)
            counts["claimed"] += 1
    return counts
