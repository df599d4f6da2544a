"""Customer merge: the loser's coupons, holdings and firings move to the survivor. The
per-customer limit then counts both: the survivor's holding of a template is the sum of the
two (``allowed`` raised to it, so the constraint holds), and nothing more is issued to the
survivor while that sum is at the limit."""

from __future__ import annotations

from typing import Any

from django.db import connection

from campaigns.models import Coupon, CouponHolding, TriggerFiring
from crm.models import Customer

_MERGE_HOLDINGS = """
UPDATE campaigns_couponholding AS kept
   SET issued = kept.issued + lost.issued,
       allowed = GREATEST(kept.allowed, lost.allowed, kept.issued + lost.issued)
  FROM campaigns_couponholding AS lost
 WHERE kept.customer_id = %s AND lost.customer_id = %s AND kept.template_id = lost.template_id
"""
_DROP_MERGED = """
DELETE FROM campaigns_couponholding AS lost
 USING campaigns_couponholding AS kept
 WHERE lost.customer_id = %s AND kept.customer_id = %s AND kept.template_id = lost.template_id
"""


def move_coupon_data(*, survivor: Customer, loser: Customer, **_: Any) -> int:
    """Merge handler (inside ``merge_customers``' transaction); returns the rows moved."""
    # A bulk run gives one coupon per customer: a loser's coupon from a run that also reached
    # the survivor keeps the run's key (``source_reference``) but leaves the run's link.
    both = Coupon.objects.filter(customer=survivor, bulk_issue__isnull=False).values("bulk_issue")
    Coupon.objects.filter(customer=loser, bulk_issue__in=both).update(bulk_issue=None)
    moved = Coupon.objects.filter(customer=loser).update(customer=survivor)
    with connection.cursor() as cursor:
        cursor.execute(_MERGE_HOLDINGS, [survivor.pk, loser.pk])
        cursor.execute(_DROP_MERGED, [loser.pk, survivor.pk])
    moved += CouponHolding.objects.filter(customer=loser).update(customer=survivor)
    moved += TriggerFiring.objects.filter(customer=loser).update(customer=survivor)
    return moved
