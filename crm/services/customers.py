"""Customer master use cases: identity resolution, timeline events, tags (consents:
``crm.services.consents``; revealing and searching personal identities: ``crm.services.pii``;
queueing possible duplicates: ``crm.services.duplicates``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.errors import DomainError
from crm.models import (
    IDENTITY_STRENGTH,
    BusinessUnit,
    Customer,
    CustomerKind,
    CustomerTag,
    DuplicateCandidate,
    DuplicateReason,
    Gender,
    Identity,
    IdentityType,
    Tag,
    TimelineEvent,
)
from crm.normalizers import (
    InvalidIdentity,
    normalize_email,
    normalize_external_id,
    normalize_phone,
    normalize_uscc,
    normalize_wechat_id,
)
from crm.registry import notify_event_recorded
from crm.services.duplicates import record_duplicate_candidate

_NORMALIZERS = {
    IdentityType.MOBILE: normalize_phone,
    IdentityType.EMAIL: normalize_email,
    IdentityType.WECHAT_UNIONID: normalize_wechat_id,
    IdentityType.WECHAT_OPENID: normalize_wechat_id,
    IdentityType.USCC: normalize_uscc,
    IdentityType.EXTERNAL: normalize_external_id,
}


@dataclass(frozen=True)
class IdentityInput:
    type: str
    value: str
    verified: bool = False


@dataclass
class Resolution:
    customer: Customer
    created: bool
    added_identities: int = 0
    candidates: list[DuplicateCandidate] = field(default_factory=list)


def normalize_identity(type_: str, value: str) -> str:
    """The stored spelling of an identity, or ``InvalidIdentity`` naming the field."""
    normalizer = _NORMALIZERS.get(type_)  # type: ignore[call-overload]
    if normalizer is None:
        raise InvalidIdentity(
            _("Unknown identity type “%(type)s”.") % {"type": type_}, field="type"
        )
    return str(normalizer(value, field=type_))


def normalize_identities(identities: Iterable[IdentityInput]) -> list[IdentityInput]:
    """Normalized and deduplicated, in the order given."""
    seen: dict[tuple[str, str], IdentityInput] = {}
    for ident in identities:
        value = normalize_identity(ident.type, ident.value)
        key = (ident.type, value)
        if key not in seen or (ident.verified and not seen[key].verified):
            seen[key] = IdentityInput(ident.type, value, ident.verified)
    return list(seen.values())


# --- Timeline ------------------------------------------------------------------------------


def record_event(
    *,
    customer: Customer | int,
    type: str,
    summary: str,
    business_unit: BusinessUnit | int | None = None,
    actor: Any = None,
    occurred_at: datetime | None = None,
    data: Mapping[str, Any] | None = None,
) -> TimelineEvent:
    """Write one timeline event. Call it inside the transaction of the change it records."""
    event = TimelineEvent.objects.create(
        customer_id=customer if isinstance(customer, int) else customer.pk,
        business_unit_id=(
            business_unit
            if business_unit is None or isinstance(business_unit, int)
            else business_unit.pk
        ),
        type=type,
        summary=summary[:300],
        actor=actor if getattr(actor, "pk", None) else None,
        occurred_at=occurred_at or timezone.now(),
        data=dict(data or {}),
    )
    notify_event_recorded(event)
    return event


# --- Identity resolution -------------------------------------------------------------------

_ATTRIBUTES = ("display_name", "kind", "gender", "birthday", "region", "registered_name")


def clean_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Known customer attributes, validated; unknown keys are refused, not ignored."""
    cleaned: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if key not in _ATTRIBUTES:
            raise DomainError(_("Unknown customer attribute “%(key)s”.") % {"key": key}, field=key)
        if value in (None, ""):
            continue
        if key == "kind" and value not in CustomerKind.values:
            raise DomainError(_("Kind must be person or organization."), field=key)
        if key == "gender" and value not in Gender.values:
            raise DomainError(_("Gender must be female, male or empty."), field=key)
        if key == "birthday" and not isinstance(value, date):
            parsed = parse_date(str(value))
            if parsed is None:
                raise DomainError(_("Birthday must be a date (YYYY-MM-DD)."), field=key)
            value = parsed
        if key in ("display_name", "region", "registered_name"):
            value = " ".join(str(value).split())[:200]
        cleaned[key] = value
    return cleaned


def fallback_name(identities: list[IdentityInput]) -> str:
    """A customer known only by identities is named after the strongest one, masked (never
    the full phone or e-mail, and the same in every language)."""
    from crm.normalizers import mask_identity

    first = max(identities, key=lambda i: IDENTITY_STRENGTH.get(i.type, 0))  # type: ignore[call-overload]
    return mask_identity(first.type, first.value)[:200]


def lock_live_customers(ids: Iterable[int]) -> dict[int, int]:
    """``id -> the live customer`` for ``ids``, each row share-locked until the transaction
    ends: a merge (which locks both customers for update) cannot move them meanwhile, and a
    customer merged just before resolves to its survivor."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, merged_into_id FROM crm_customer WHERE id = ANY(%s) ORDER BY id FOR SHARE",
            [wanted],
        )
        return {pk: merged or pk for pk, merged in cursor.fetchall()}


def _identity_filter(identities: Iterable[IdentityInput]) -> Q:
    query = Q()
    for ident in identities:
        query |= Q(type=ident.type, value=ident.value)
    return query


def _fill_blanks(customer: Customer, attributes: Mapping[str, Any]) -> list[str]:
    """Set attributes the customer does not have yet; never overwrite what staff entered."""
    changed = []
    for key, value in attributes.items():
        if key == "kind":
            continue
        if key == "display_name" and customer.name_is_generated:
            customer.display_name, customer.name_is_generated = value, False
            changed += ["display_name", "name_is_generated"]
        elif getattr(customer, key) in (None, ""):
            setattr(customer, key, value)
            changed.append(key)
    return changed


def _add_identities(
    customer: Customer,
    identities: list[IdentityInput],
    *,
    source: str,
    business_unit: BusinessUnit | None,
) -> None:
    """Give ``customer`` these (normalized, unowned) identities, supplied by ``source``."""
    Identity.objects.bulk_create(
        Identity(
            customer=customer,
            type=i.type,
            value=i.value,
            verified=i.verified,
            source=source[:40],
            business_unit=business_unit,
        )
        for i in identities
    )


def resolve_customer(
    *,
    identities: Iterable[IdentityInput],
    attributes: Mapping[str, Any] | None = None,
    source: str,
    actor: Any = None,
    business_unit: BusinessUnit | None = None,
) -> Resolution:
    """Find the customer owning any of ``identities``, or create one.

    When the identities belong to two or more customers nothing is merged: a duplicate
    candidate is recorded for each other owner and the best match (the owner of the strongest
    identities, then the oldest) is returned. Identities nobody owns are added to the result.
    """
    wanted = normalize_identities(identities)
    if not wanted:
        raise DomainError(_("Give at least one identity (phone, e-mail, WeChat id...)."))
    attrs = clean_attributes(attributes)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _resolve(wanted, attrs, source, actor, business_unit)
        except IntegrityError:
            # Somebody else created one of these identities at the same moment: look again.
            continue
    raise DomainError(_("This customer is being changed by someone else; try again."), code="busy")


def _resolve(
    wanted: list[IdentityInput],
    attrs: dict[str, Any],
    source: str,
    actor: Any,
    business_unit: BusinessUnit | None,
) -> Resolution:
    owned = list(
        Identity.objects.filter(_identity_filter(wanted)).select_related("customer__merged_into")
    )
    strength: dict[int, int] = {}
    owners: dict[int, Customer] = {}
    for ident in owned:
        customer = ident.customer
        while customer.merged_into_id is not None:  # identities move on merge; be safe anyway
            customer = customer.merged_into  # type: ignore[assignment]
        owners[customer.pk] = customer
        strength[customer.pk] = strength.get(customer.pk, 0) + IDENTITY_STRENGTH.get(
            ident.type,  # type: ignore[call-overload]
            0,
        )
    owned_keys = {(i.type, i.value) for i in owned}
    missing = [i for i in wanted if (i.type, i.value) not in owned_keys]

    if not owners:
        kind = attrs.get("kind") or (
            CustomerKind.ORGANIZATION
            if any(i.type == IdentityType.USCC for i in wanted)
            else CustomerKind.PERSON
        )
        customer = Customer.objects.create(
            **{k: v for k, v in attrs.items() if k not in ("kind", "display_name")},
            kind=kind,
            display_name=attrs.get("display_name") or fallback_name(wanted),
            name_is_generated=not attrs.get("display_name"),
            source=source[:40],
        )
        _add_identities(customer, wanted, source=source, business_unit=business_unit)
        record_event(
            customer=customer,
            type="customer.created",
            summary=_("Customer created from %(source)s") % {"source": source},
            business_unit=business_unit,
            actor=actor,
            data={"identities": [i.type for i in wanted], "source": source},
        )
        return Resolution(customer=customer, created=True, added_identities=len(wanted))

    ranked = sorted(owners.values(), key=lambda c: (-strength[c.pk], c.pk))
    best = ranked[0]
    live = lock_live_customers([best.pk])
    if live.get(best.pk, best.pk) != best.pk:  # merged while we looked: use the survivor
        best = Customer.objects.get(pk=live[best.pk])
    candidates = [
        c
        for other in ranked[1:]
        if (
            c := record_duplicate_candidate(
                first=best,
                second=other,
                reason=DuplicateReason.SHARED_IDENTITY,
                detail=source,
                score=90,
            )
        )
        is not None
    ]
    if missing:
        _add_identities(best, missing, source=source, business_unit=business_unit)
        record_event(
            customer=best,
            type="identity.added",
            summary=ngettext(
                "%(count)d identity added from %(source)s",
                "%(count)d identities added from %(source)s",
                len(missing),
            )
            % {"count": len(missing), "source": source},
            business_unit=business_unit,
            actor=actor,
            data={"identities": [i.type for i in missing], "source": source},
        )
    changed = _fill_blanks(best, attrs)
    if changed:
        best.save(update_fields=[*changed, "updated_at"])
    return Resolution(
        customer=best, created=False, added_identities=len(missing), candidates=candidates
    )


# --- Tags ----------------------------------------------------------------------------------


def add_tag(*, customer: Customer, tag: Tag, actor: Any = None, rule: str = "") -> bool:
    """Tag a customer once; returns False when the tag was already there."""
    with transaction.atomic():
        _link, created = CustomerTag.objects.get_or_create(
            customer=customer,
            tag=tag,
            defaults={"set_by": actor if getattr(actor, "pk", None) else None, "rule": rule},
        )
        if created:
            record_event(
                customer=customer,
                type="tag.added",
                summary=_("Tagged “%(tag)s”") % {"tag": tag.name},
                actor=actor,
                data={"tag": tag.pk, "rule": rule},
            )
    return created


def remove_tag(*, customer: Customer, tag: Tag, actor: Any = None) -> bool:
    with transaction.atomic():
        deleted, _rows = CustomerTag.objects.filter(customer=customer, tag=tag).delete()
        if deleted:
            record_event(
                customer=customer,
                type="tag.removed",
                summary=_("Tag “%(tag)s” removed") % {"tag": tag.name},
                actor=actor,
                data={"tag": tag.pk},
            )
    return bool(deleted)
