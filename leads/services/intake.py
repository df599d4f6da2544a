"""Intake: a lead arriving from a web form, an import or a vendor's API.

Identities are normalized first (an invalid phone or e-mail is refused naming the field, and
nothing is stored), then matched:

- a customer the master knows → the lead is linked to it and flagged "existing customer",
  with that customer's account owner;
- an open lead of the same unit with the same phone, e-mail or WeChat id → no second lead:
  the existing one gets a history note (the partial unique indexes make this hold when two
  submissions race);
- a blacklisted customer → the lead is quarantined with the blacklist's reason (nobody can
  claim it);
- otherwise a new lead in the pool named by the caller; none named: the pool of the unit's
  first matching routing rule (``leads.services.routing``), given at once to the rule's rep
  when it names one with room, else the unit's public pool; then assigned when the pool
  assigns on intake (round-robin, least loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import BusinessUnit, Customer, Identity, IdentityType
from crm.normalizers import normalize_email, normalize_phone, normalize_wechat_id
from crm.services.blacklist import CustomerBlacklisted, assert_not_blacklisted
from leads.errors import LeadError
from leads.models import (
    OPEN_STATUSES,
    Lead,
    LeadEventKind,
    LeadKind,
    LeadPool,
    LeadSource,
    RoutingRule,
)
from leads.services.common import EVENT_CREATED, history, public_pool, timeline
from leads.services.routing import ROUTING_REASON, assign_by_rule, match_rule, routing_rules

_LENGTHS = {
    "name": 100,
    "company": 200,
    "title": 100,
    "region": 60,
    "industry": 60,
    "channel": 40,
    "campaign_code": 40,
    "external_ref": 80,
}


@dataclass(frozen=True)
class LeadInput:
    """What a form, an import row or an API call gives. Identities as typed."""

    name: str = ""
    company: str = ""
    kind: str = ""
    title: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""
    region: str = ""
    industry: str = ""
    source: str = LeadSource.WEB_FORM
    channel: str = ""
    campaign_code: str = ""
    score: int | str | None = 0
    note: str = ""
    external_ref: str = ""


@dataclass
class IntakeResult:
    lead: Lead
    created: bool
    outcome: str  # "created" | "existing_customer" | "quarantined" | "duplicate"


def clean_lead_input(data: LeadInput) -> dict[str, Any]:
    """The lead's fields, normalized; the first problem raises naming its field."""
    fields: dict[str, Any] = {}
    for key, limit in _LENGTHS.items():
        value = " ".join(str(getattr(data, key) or "").split())
        if len(value) > limit:
            raise LeadError(_("At most %(n)d characters.") % {"n": limit}, field=key)
        fields[key] = value
    if not fields["name"] and not fields["company"]:
        raise LeadError(_("Give the contact's name or the company's name."), field="name")
    kind = data.kind or (LeadKind.COMPANY if fields["company"] else LeadKind.PERSON)
    if kind not in LeadKind.values:
        raise LeadError(_("Choose person or company."), field="kind")
    if kind == LeadKind.COMPANY and not fields["company"]:
        raise LeadError(_("Give the company's name."), field="company")
    fields["kind"] = kind
    source = data.source or LeadSource.WEB_FORM
    if source not in LeadSource.values:
        raise LeadError(_("Choose a source from the list."), field="source")
    fields["source"] = source
    fields["phone"] = normalize_phone(data.phone, field="phone") if data.phone.strip() else ""
    fields["email"] = normalize_email(data.email, field="email") if data.email.strip() else ""
    fields["wechat"] = (
        normalize_wechat_id(data.wechat, field="wechat") if data.wechat.strip() else ""
    )
    if not (fields["phone"] or fields["email"] or fields["wechat"]):
        raise LeadError(_("Give a phone number, an e-mail address or a WeChat id."), field="phone")
    try:
        score = int(data.score or 0)
    except (TypeError, ValueError) as exc:
        raise LeadError(_("The score is a whole number from 0 to 100."), field="score") from exc
    if not 0 <= score <= 100:
        raise LeadError(_("The score is a whole number from 0 to 100."), field="score")
    fields["score"] = score
    fields["note"] = (data.note or "").strip()[:2000]
    return fields


def _identity_filter(fields: dict[str, Any]) -> Q:
    q = Q(pk__in=[])
    if fields["phone"]:
        q |= Q(phone=fields["phone"])
    if fields["email"]:
        q |= Q(email=fields["email"])
    if fields["wechat"]:
        q |= Q(wechat=fields["wechat"])
    return q


def find_customer(fields: dict[str, Any]) -> Customer | None:
    """The live customer owning the lead's phone, e-mail or WeChat id (the strongest first)."""
    wanted = Q(pk__in=[])
    if fields["phone"]:
        wanted |= Q(type=IdentityType.MOBILE, value=fields["phone"])
    if fields["email"]:
        wanted |= Q(type=IdentityType.EMAIL, value=fields["email"])
    if fields["wechat"]:
        wanted |= Q(
            type__in=[IdentityType.WECHAT_UNIONID, IdentityType.WECHAT_OPENID],
            value=fields["wechat"],
        )
    rank = {IdentityType.MOBILE: 0, IdentityType.EMAIL: 1}
    owned = sorted(
        Identity.objects.filter(wanted).select_related("customer"),
        key=lambda i: (rank.get(i.type, 2), i.customer_id),  # type: ignore[call-overload]
    )
    if not owned:
        return None
    customer = owned[0].customer
    while customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_owner_id(customer: Customer) -> int | None:
    """The existing customer's account owner: its own account's, or (a person) the owner of
    the account where it is a contact, primary contacts first."""
    from accounts.models import Account

    owner = (
        Account.objects.filter(Q(customer=customer) | Q(contacts__person=customer))
        .exclude(owner__isnull=True)
        .order_by("-contacts__is_primary", "pk")
        .values_list("owner_id", flat=True)
        .first()
    )
    return owner


def named_pool(unit: BusinessUnit, name: str) -> LeadPool:
    """The unit's active pool called ``name`` (a caller naming where its lead goes, which
    overrides the routing rules); refused on the ``pool`` field when there is none."""
    name = " ".join(name.split())
    pool = LeadPool.objects.filter(business_unit=unit, name=name, is_active=True).first()
    if pool is None:
        raise LeadError(
            _("This unit has no active pool called “%(name)s”.") % {"name": name}, field="pool"
        )
    return pool


def _pool(unit: BusinessUnit, pool: LeadPool | None) -> LeadPool:
    if pool is None:
        return public_pool(unit)
    if pool.business_unit_id != unit.pk or not pool.is_active:
        raise LeadError(_("Choose an active pool of this business unit."), field="pool")
    return pool


def intake_lead(
    *,
    business_unit: BusinessUnit,
    data: LeadInput,
    actor: Any = None,
    api_key: Any = None,
    pool: LeadPool | None = None,
    now: datetime | None = None,
    rules: Sequence[RoutingRule] | None = None,
) -> IntakeResult:
    """Take one lead in (see the module's doc). Refusals raise before anything is written.
    ``rules``: the unit's routing rules as ``routing_rules`` read them, for a caller taking
    many leads in at once (read here when not given; unused when a pool is named)."""
    fields = clean_lead_input(data)
    now = now or timezone.now()
    rule = None
    if pool is None:
        rule = match_rule(routing_rules(business_unit) if rules is None else rules, fields)
    target = rule.pool if rule is not None else _pool(business_unit, pool)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _intake(business_unit, fields, target, actor, api_key, now, rule)
        except IntegrityError:
            # Another submission with the same identity won the race: look again (and find
            # its lead as the duplicate).
            continue
    raise DomainError(_("This lead is being submitted by someone else; try again."), code="busy")


def _intake(
    unit: BusinessUnit,
    fields: dict[str, Any],
    pool: LeadPool,
    actor: Any,
    api_key: Any,
    now: datetime,
    rule: RoutingRule | None = None,
) -> IntakeResult:
    existing = (
        Lead.objects.select_for_update()
        .filter(_identity_filter(fields), business_unit=unit, status__in=OPEN_STATUSES)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        history(
            existing,
            LeadEventKind.DUPLICATE,
            at=now,
            actor=actor,
            note=_("Submitted again from %(source)s %(channel)s")
            % {"source": fields["source"], "channel": fields["channel"]},
            data={
                "source": fields["source"],
                "channel": fields["channel"],
                "campaign_code": fields["campaign_code"],
                "api_key": getattr(api_key, "pk", None),
            },
        )
        return IntakeResult(existing, False, "duplicate")

    customer = find_customer(fields)
    quarantine_reason = ""
    if customer is not None:
        try:
            assert_not_blacklisted(customer)
        except CustomerBlacklisted as exc:
            quarantine_reason = exc.message[:300]
    with transaction.atomic():
        lead = Lead.objects.create(
            **fields,
            business_unit=unit,
            pool=pool,
            customer=customer,
            existing_customer=customer is not None,
            customer_owner_id=customer_owner_id(customer) if customer else None,
            quarantined=bool(quarantine_reason),
            quarantine_reason=quarantine_reason,
            source_key=api_key if getattr(api_key, "pk", None) else None,
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=now,
            pooled_at=now,
        )
    history(
        lead,
        LeadEventKind.CREATED,
        at=now,
        actor=actor,
        to_pool=pool,
        to_status=lead.status,
        reason=ROUTING_REASON if rule is not None else "",
        note=rule.name if rule is not None else "",
        data={
            "source": lead.source,
            "existing_customer": lead.existing_customer,
            **({"routing_rule": rule.pk} if rule is not None else {}),
        },
    )
    timeline(
        lead,
        EVENT_CREATED,
        _("New lead from %(source)s") % {"source": lead.get_source_display()},
        at=now,
        actor=actor,
    )
    if quarantine_reason:
        history(lead, LeadEventKind.QUARANTINED, at=now, actor=actor, note=quarantine_reason)
        return IntakeResult(lead, True, "quarantined")
    from leads.services.assignment import assign_on_intake

    if rule is None or not assign_by_rule(lead=lead, rule=rule, now=now):
        assign_on_intake(lead=lead, now=now)
    return IntakeResult(lead, True, "existing_customer" if customer else "created")
