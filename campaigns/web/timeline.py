"""The coupons' timeline entries in the reader's language, from the event's data (the stored
summary is the writer's; events written before a detail was kept fall back to it)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from campaigns.models import IssueSource
from crm.money import format_money


def _name(event: Any) -> str:
    return str((event.data or {}).get("name") or "")


def describe_issued(event: Any, customer: Any) -> str:
    data = event.data or {}
    name = _name(event)
    if not name:
        return str(event.summary)
    source = data.get("source", "")
    how = IssueSource(source).label if source in IssueSource.values else source
    value = data.get("face_value")
    if value:
        return _("Coupon “%(name)s” issued (%(how)s), worth %(value)s") % {
            "name": name,
            "how": how,
            "value": format_money(value, data.get("currency") or "CNY"),
        }
    return _("Coupon “%(name)s” issued (%(how)s)") % {"name": name, "how": how}


def describe_redeemed(event: Any, customer: Any) -> str:
    data = event.data or {}
    name = _name(event)
    if not name or "discount" not in data:
        return str(event.summary)
    return _("Coupon “%(name)s” redeemed: %(discount)s off, order %(reference)s") % {
        "name": name,
        "discount": format_money(data["discount"], data.get("currency") or "CNY"),
        "reference": data.get("reference", ""),
    }


def describe_reversed(event: Any, customer: Any) -> str:
    data = event.data or {}
    if "reference" not in data:
        return str(event.summary)
    values = {"name": _name(event), "reference": data["reference"]}
    if values["name"]:
        if data.get("restored"):
            return (
                _(
                    "Redemption of coupon “%(name)s” reversed (refund %(reference)s): the "
                    "coupon is usable again"
                )
                % values
            )
        return (
            _(
                "Redemption of coupon “%(name)s” reversed (refund %(reference)s): the coupon "
                "stays used"
            )
            % values
        )
    if data.get("restored"):
        return _("Coupon redemption reversed (refund %(reference)s): usable again") % values
    return _("Coupon redemption reversed (refund %(reference)s): stays used") % values


def describe_voided(event: Any, customer: Any) -> str:
    data = event.data or {}
    name, reason = _name(event), str(data.get("reason") or "")
    if name and reason:
        return _("Coupon “%(name)s” voided: %(reason)s") % {"name": name, "reason": reason}
    if name:
        return _("Coupon “%(name)s” voided") % {"name": name}
    if reason:
        return _("Coupon voided: %(reason)s") % {"reason": reason}
    return _("Coupon voided")
