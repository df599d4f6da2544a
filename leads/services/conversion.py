"""Conversion of a qualified lead into a customer of the group, through the apps' services:

- a company lead (B2B) → the account (found or created by its USCC), the lead's person as a
  contact there, and an opportunity owned by the rep;
- a person lead (B2C) → a member of the loyalty programme (an existing member is linked,
  not enrolled twice).

The lead's matched customer is reused rather than duplicated (identity resolution finds it
again by the same identities); a blacklisted customer is refused with the blacklist's reason
and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer, CustomerKind, Identity, IdentityType
from crm.services import IdentityInput
from crm.services.blacklist import assert_not_blacklisted
from leads.errors import InvalidTransition, LeadError
from leads.models import Lead, LeadEventKind, LeadKind, LeadStatus
from leads.services.common import EVENT_CONVERTED, history, timeline
from leads.services.working import _lock_held


@dataclass
class Conversion:
    lead: Lead
    customer: Customer
    account: Any = None
    contact: Any = None
    opportunity: Any = None
    member: Any = None


def lead_identities(lead: Lead) -> list[IdentityInput]:
    found = []
    if lead.phone:
        found.append(IdentityInput(IdentityType.MOBILE, lead.phone))
    if lead.email:
        found.append(IdentityInput(IdentityType.EMAIL, lead.email))
    if lead.wechat:
        found.append(IdentityInput(IdentityType.WECHAT_OPENID, lead.wechat))
    return found


def _uscc_of(customer: Customer | None) -> str:
    if customer is None or customer.kind != CustomerKind.ORGANIZATION:
        return ""
    return (
        Identity.objects.filter(customer=customer, type=IdentityType.USCC)
        .values_list("value", flat=True)
        .first()
        or ""
    )


def convert_lead(
    *,
    lead: Lead | int,
    user: Any,
    uscc: str = "",
    opportunity_name: str = "",
    amount: Decimal | int | str = 0,
    currency: str = "CNY",
    expected_close: date | None = None,
    member_channel: str = "store",
    now: datetime | None = None,
) -> Conversion:
    """Convert a qualified lead held by ``user`` (or by a rep ``user`` manages)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_held(lead, user, manager_too=True)
        if locked.status != LeadStatus.QUALIFIED:
            raise InvalidTransition(
                _("Qualify the lead before converting it (it is %(status)s).")
                % {"status": locked.get_status_display()}
            )
        if locked.customer_id is not None:
            assert_not_blacklisted(locked.customer_id)
        if locked.kind == LeadKind.COMPANY:
            result = _convert_company(
                locked, user, uscc, opportunity_name, amount, currency, expected_close
            )
        else:
            result = _convert_person(locked, user, member_channel)
        from_status = locked.status
        locked.status = LeadStatus.CONVERTED
        locked.customer = result.customer
        locked.converted_at = now
        locked.closed_at = now
        locked.save(update_fields=["status", "customer", "converted_at", "closed_at", "updated_at"])
        data = {
            "account": getattr(result.account, "pk", None),
            "contact": getattr(result.contact, "pk", None),
            "opportunity": getattr(result.opportunity, "pk", None),
            "member": getattr(result.member, "pk", None),
            "customer": result.customer.pk,
        }
        history(
            locked,
            LeadEventKind.CONVERTED,
            at=now,
            actor=user,
            from_status=from_status,
            to_status=LeadStatus.CONVERTED,
            data=data,
        )
        timeline(locked, EVENT_CONVERTED, _("Lead converted"), at=now, actor=user, **data)
    return result


def _convert_company(
    lead: Lead,
    user: Any,
    uscc: str,
    opportunity_name: str,
    amount: Any,
    currency: str,
    expected_close: date | None,
) -> Conversion:
    from accounts import services as accounts
    from accounts.errors import ContactExists
    from accounts.models import Contact

    uscc = uscc.strip() or _uscc_of(lead.customer)
    if not uscc:
        raise LeadError(
            _("Give the company's unified social credit code to create its account."),
            field="uscc",
        )
    unit = lead.business_unit
    account = accounts.create_account(
        uscc=uscc,
        name=lead.company,
        user=user,
        business_unit=unit,
        owner=lead.owner,
        source="leads",
    ).account
    assert_not_blacklisted(account.customer_id)
    contact = None
    identities = lead_identities(lead)
    if lead.name and identities:
        try:
            with transaction.atomic():
                contact = accounts.add_contact(
                    account=account,
                    identities=identities,
                    name=lead.name,
                    user=user,
                    business_unit=unit,
                    title=lead.title,
                    source="leads",
                )
        except ContactExists:
            contact = (
                Contact.objects.filter(
                    account=account, person__identities__value__in=[i.value for i in identities]
                )
                .order_by("pk")
                .first()
            )
    opportunity = accounts.create_opportunity(
        account=account,
        name=opportunity_name.strip() or _("%(company)s (lead)") % {"company": lead.company},
        owner=lead.owner,
        business_unit=unit,
        user=user,
        amount=amount,
        currency=currency,
        expected_close=expected_close,
        notes=lead.note,
        contacts=[(contact, [])] if contact is not None else [],
    )
    return Conversion(
        lead=lead,
        customer=account.customer,
        account=account,
        contact=contact,
        opportunity=opportunity,
    )


def _convert_person(lead: Lead, user: Any, channel: str) -> Conversion:
    from members import services as members

    enrolment = members.enrol_member(
        business_unit=lead.business_unit,
        channel=channel,
        customer=lead.customer,
        identities=lead_identities(lead) if lead.customer_id is None else None,
        attributes={"display_name": lead.name} if lead.name else None,
        actor=user,
    )
    return Conversion(lead=lead, customer=enrolment.member.customer, member=enrolment.member)
