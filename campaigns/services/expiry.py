"""The nightly expiry: issued coupons past their validity become ``expired`` (set-based, in
batches keyed by id; safe to run twice)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from campaigns.models import Coupon, CouponStatus

BATCH = 10_000


def expire_due_coupons(*, now: datetime | None = None, batch: int = BATCH) -> int:
    now = now or timezone.now()
    total = 0
    while True:
        ids = list(
            Coupon.objects.filter(status=CouponStatus.ISSUED, valid_until__lte=now)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return total
        total += Coupon.objects.filter(pk__in=ids, status=CouponStatus.ISSUED).update(
            status=CouponStatus.EXPIRED
        )
