"""Issuing coupons: to one customer (the desk, a trigger rule), in exchange for points, and in
bulk to a list of customers (a job with progress).

Every issue takes the template's stock first (``UPDATE … SET issued_count = issued_count + n
WHERE issued_count + n <= stock``: this also serializes the template's issuers on its row),
then the customer's holding (``UPDATE … SET issued = issued + 1 WHERE issued + 1 <= limit``),
then writes the coupon. Never count-then-insert: the check constraints on both counters are
the backstop. A code collision (1 in 2**64 per pair) retries with a new code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.codes import new_code, new_codes
from campaigns.errors import (
    CampaignBudgetExhausted,
    CouponExhausted,
    CouponExpired,
    CouponLimitReached,
    InvalidCouponRequest,
    ReferenceReused,
    TemplateInactive,
)
from campaigns.models import (
    REFERENCE_MAX,
    BulkIssue,
    BulkIssueStatus,
    Campaign,
    Coupon,
    CouponHolding,
    CouponStatus,
    CouponTemplate,
    IssueSource,
)
from campaigns.services.rollup import note_change
from crm.jobs import JobContext, job_handler
from crm.models import Customer
from crm.money import format_money
from crm.selectors.blacklist import blacklisted_ids
from crm.services import record_event, start_job
from crm.services.blacklist import assert_not_blacklisted

EVENT_ISSUED = "coupon.issued"
CODE_CONSTRAINT = "campaigns_coupon_code_key"
CODE_ATTEMPTS = 5
BULK_BATCH = 5000  # customers per transaction of a bulk issue


def _pk(value: Any) -> int:
    return value if isinstance(value, int) else value.pk


def _is_code_collision(exc: IntegrityError) -> bool:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") == CODE_CONSTRAINT


_TAKE_STOCK_SQL = f"""
    UPDATE {CouponTemplate._meta.db_table} SET issued_count = issued_count + %(count)s
     WHERE id = %(id)s AND is_active AND issued_count <= stock - %(count)s
    RETURNING issued_count = stock
"""  # noqa: S608 (the table name from the model)


def take_stock(template_id: int, count: int, *, campaign_id: int | None = None) -> bool:
    """Raise the template's issued count by ``count`` if the stock allows it (row-locking).
    The issue that takes the last coupon tells the template's people that the stock is gone
    (in the same transaction: an issue rolled back tells nobody)."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_STOCK_SQL, {"count": count, "id": template_id})
        row = cursor.fetchone()
    if row is None:
        return False
    if row[0]:
        from campaigns.services.notices import tell_stock_exhausted

        tell_stock_exhausted(template_id, campaign_id=campaign_id)
    return True


_CAMPAIGN = Campaign._meta.db_table
_TAKE_BUDGET_SQL = f"""
    UPDATE {_CAMPAIGN} SET issued_value = issued_value + %(amount)s
     WHERE id = %(id)s AND issued_value + %(amount)s <= budget
    RETURNING budget - issued_value
"""  # noqa: S608 (the table name from the model)


def take_campaign_budget(campaign_id: int, amount: Decimal, face_value: Decimal) -> bool:
    """Spend ``amount`` of face value from the campaign's budget if it allows it (row-locking).
    The issue after which the budget cannot pay for one more coupon of ``face_value`` tells
    the campaign's owner (in the same transaction: rolled back with it)."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_BUDGET_SQL, {"amount": amount, "id": campaign_id})
        row = cursor.fetchone()
    if row is None:
        return False
    if row[0] < face_value and row[0] + amount >= face_value:
        from campaigns.services.notices import tell_campaign_budget_exhausted

        tell_campaign_budget_exhausted(campaign_id)
    return True


def take_holding(template: CouponTemplate, customer_id: int) -> bool:
    """Count one more coupon of ``template`` for the customer if under the limit."""
    limit = template.per_customer_limit
    CouponHolding.objects.bulk_create(
        [CouponHolding(template=template, customer_id=customer_id, allowed=limit)],
        ignore_conflicts=True,
    )
    return (
        CouponHolding.objects.filter(
            template=template, customer_id=customer_id, issued__lte=limit - 1
        ).update(issued=F("issued") + 1, allowed=Greatest(F("allowed"), Value(limit)))
        == 1
    )


def _reference(value: str, field: str = "reference") -> str:
    value = (value or "").strip()
    if len(value) > REFERENCE_MAX:
        raise InvalidCouponRequest(
            _("A reference holds at most %(max)d characters.") % {"max": REFERENCE_MAX},
            field=field,
        )
    return value


def _write_coupon(**fields: Any) -> Coupon:
    for attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Coupon.objects.create(code=new_code(), **fields)
        except IntegrityError as exc:
            if not _is_code_collision(exc) or attempt == CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def issue_coupon(
    *,
    template: CouponTemplate | int,
    customer: Customer | int,
    source: str = IssueSource.DESK,
    source_reference: str = "",
    campaign: Any = None,
    actor: Any = None,
    now: datetime | None = None,
) -> Coupon:
    """One coupon of ``template`` for ``customer``: refused when the template is inactive,
    out of stock or past its validity, when the customer is blacklisted or already holds the
    per-customer limit."""
    now = now or timezone.now()
    customer_id = _pk(customer)
    source_reference = _reference(source_reference, "source_reference")
    with transaction.atomic():
        found = CouponTemplate.objects.filter(pk=_pk(template)).first()
        if found is None or not found.is_active:
            raise TemplateInactive(_("This coupon template is not active."))
        valid_from, valid_until = found.validity_for(now)
        if valid_until <= now:
            raise CouponExpired(_("This coupon template's validity is over."))
        assert_not_blacklisted(customer_id)
        campaign_id = _pk(campaign) if campaign is not None else None
        if not take_stock(found.pk, 1, campaign_id=campaign_id):
            raise CouponExhausted(
                _("All %(stock)d coupons of “%(name)s” have been issued.")
                % {"stock": found.stock, "name": found.name}
            )
        if campaign_id is not None and not take_campaign_budget(
            campaign_id, found.face_value, found.face_value
        ):
            raise CampaignBudgetExhausted(
                _("The campaign's budget cannot pay for one more coupon of %(value)s.")
                % {"value": format_money(found.face_value, found.currency)}
            )
        if not take_holding(found, customer_id):
            raise CouponLimitReached(
                _("This customer already holds %(limit)d coupon(s) of “%(name)s”, the limit.")
                % {"limit": found.per_customer_limit, "name": found.name}
            )
        coupon = _write_coupon(
            template=found,
            business_unit_id=found.business_unit_id,
            campaign_id=campaign_id,
            customer_id=customer_id,
            face_value=found.face_value,
            source=source,
            source_reference=source_reference,
            issued_by=actor if getattr(actor, "pk", None) else None,
            issued_at=now,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        note_change(issued_at=now)  # a mark only for an earlier month (campaigns/ROLLUP.md)
        record_event(
            customer=customer_id,
            type=EVENT_ISSUED,
            summary=f"Coupon “{found.name}” issued",
            business_unit=found.business_unit_id,
            actor=actor,
            occurred_at=now,
            data={
                "coupon": coupon.pk,
                "template": found.pk,
                "name": found.name,
                "source": source,
                "face_value": str(found.face_value),
                "currency": found.currency,
            },
        )
    return coupon


@dataclass
class Exchange:
    coupon: Coupon
    points: int
    replayed: bool = False


def exchange_points_for_coupon(
    *,
    template: CouponTemplate | int,
    member: Any,
    reference: str,
    actor: Any = None,
    now: datetime | None = None,
) -> Exchange:
    """Spend the template's price in points and issue one coupon, in one transaction: if the
    coupon cannot be issued (stock, limit, blacklist) no point is spent. ``reference`` (the
    request's id) makes a replay return the first exchange."""
    from members.services import redeem_points

    reference = _reference(reference)
    if not reference:
        raise InvalidCouponRequest(_("A reference is required."), field="reference")
    found = CouponTemplate.objects.filter(pk=_pk(template)).first()
    if found is None or not found.is_active:
        raise TemplateInactive(_("This coupon template is not active."))
    if not found.points_price:
        raise InvalidCouponRequest(
            _("Coupons of “%(name)s” are not for sale for points.") % {"name": found.name},
            field="template",
        )
    now = now or timezone.now()
    with transaction.atomic():
        spent = redeem_points(
            member=member,
            business_unit=found.business_unit_id,
            points=found.points_price,
            reference=f"CPN-{reference}",
            reason=f"coupon {found.name}"[:300],
            actor=actor,
            now=now,
        )
        customer_id = spent.member.customer_id
        if spent.replayed:
            earlier = Coupon.objects.filter(
                source=IssueSource.POINTS, source_reference=reference, customer_id=customer_id
            ).first()
            if earlier is None or earlier.template_id != found.pk:
                raise ReferenceReused(
                    _("Exchange “%(ref)s” was made for another coupon.") % {"ref": reference},
                    field="reference",
                )
            return Exchange(earlier, found.points_price, replayed=True)
        coupon = issue_coupon(
            template=found,
            customer=customer_id,
            source=IssueSource.POINTS,
            source_reference=reference,
            actor=actor,
            now=now,
        )
    return Exchange(coupon, found.points_price)


# --- Bulk issue ------------------------------------------------------------------------------


def start_bulk_issue(
    *,
    template: CouponTemplate | int,
    customer_ids: Iterable[int],
    key: str,
    campaign: Any = None,
    user: Any = None,
    run_now: bool = False,
) -> BulkIssue:
    """Record a bulk issue run under ``key`` and start its job (or run it at once). The same
    key again resumes the same run: nobody gets a second coupon from it."""
    key = (key or "").strip()
    if not key or len(key) > 80:
        raise InvalidCouponRequest(_("Give the run a key of at most 80 characters."), field="key")
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    with transaction.atomic():
        bulk, created = BulkIssue.objects.get_or_create(
            key=key,
            defaults={
                "template_id": _pk(template),
                "campaign_id": _pk(campaign) if campaign is not None else None,
                "customer_ids": ids,
                "requested": len(ids),
                "created_by": user if getattr(user, "pk", None) else None,
            },
        )
        if not created and (bulk.template_id != _pk(template) or bulk.customer_ids != ids):
            raise ReferenceReused(
                _("Run “%(key)s” was started for another template or list.") % {"key": key},
                field="key",
            )
        if not run_now:
            job = start_job(kind="campaigns.bulk_issue", params={"bulk": bulk.pk}, user=user)
            BulkIssue.objects.filter(pk=bulk.pk).update(job=job)
    if run_now:
        run_bulk_issue(bulk.pk)
    bulk.refresh_from_db()
    return bulk


_COUPON = Coupon._meta.db_table
_HOLDING = CouponHolding._meta.db_table
# A batch's writes are set-based (one statement each over arrays of the batch's customers):
# the ORM's bulk_create spent more time building and binding 19 parameters a row than the
# database spent writing them.
_DONE_SQL = f"""
    SELECT customer_id FROM {_COUPON}
     WHERE bulk_issue_id = %(bulk)s AND customer_id = ANY(%(customers)s::bigint[])
"""  # noqa: S608 (table names from the models)
_HOLDINGS_SQL = f"""
    INSERT INTO {_HOLDING} (template_id, customer_id, issued, allowed)
    SELECT %(template)s, c, 0, %(limit)s FROM unnest(%(customers)s::bigint[]) AS c
    ON CONFLICT (template_id, customer_id) DO NOTHING
"""  # noqa: S608
_UNDER_SQL = f"""
    SELECT customer_id FROM {_HOLDING}
     WHERE template_id = %(template)s AND customer_id = ANY(%(customers)s::bigint[])
       AND issued <= %(limit)s - 1
"""  # noqa: S608
_RAISE_SQL = f"""
    UPDATE {_HOLDING} SET issued = issued + 1, allowed = greatest(allowed, %(limit)s)
     WHERE template_id = %(template)s AND customer_id = ANY(%(customers)s::bigint[])
       AND issued <= %(limit)s - 1
"""  # noqa: S608
# The usual batch (stock and budget enough for all of it): the holdings counted in one upsert,
# a new holding row born with its coupon counted (no second write of the same rows).
_TAKE_HOLDINGS_SQL = f"""
    INSERT INTO {_HOLDING} AS h (template_id, customer_id, issued, allowed)
    SELECT %(template)s, c, 1, %(limit)s FROM unnest(%(customers)s::bigint[]) AS c
    ON CONFLICT (template_id, customer_id) DO UPDATE
       SET issued = h.issued + 1, allowed = greatest(h.allowed, EXCLUDED.allowed)
     WHERE h.issued <= EXCLUDED.allowed - 1
    RETURNING customer_id
"""  # noqa: S608
_COUPONS_SQL = f"""
    INSERT INTO {_COUPON} (code, template_id, business_unit_id, campaign_id, customer_id,
                           face_value, source, source_reference, bulk_issue_id, issued_at,
                           valid_from, valid_until, status, void_reason)
    SELECT x.code, %(template)s, %(unit)s, %(campaign)s::bigint, x.customer,
           %(face)s::numeric, %(source)s, %(key)s, %(bulk)s, %(now)s::timestamptz,
           %(valid_from)s::timestamptz, %(valid_until)s::timestamptz, %(status)s, ''
    FROM unnest(%(codes)s::text[], %(customers)s::bigint[]) AS x(code, customer)
"""  # noqa: S608


def _ids(sql: str, params: dict[str, Any]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _write(sql: str, params: dict[str, Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _campaign_room(campaign_id: int, face_value: Decimal) -> int:
    """How many coupons of ``face_value`` the campaign's budget still pays for (its row locked
    until the batch commits: after the template's, as every issuer takes them)."""
    left = (
        Campaign.objects.select_for_update()
        .filter(pk=campaign_id)
        .values_list("budget", "issued_value")
        .first()
    )
    if left is None or face_value <= 0:
        return 0 if left is None else 10**9
    return max(int((left[0] - left[1]) // face_value), 0)


def _issue_batch(bulk: BulkIssue, batch: list[int]) -> dict[str, int]:
    counts = {
        "issued": 0,
        "skipped_limit": 0,
        "skipped_stock": 0,
        "skipped_blacklisted": 0,
        "skipped_budget": 0,
    }
    with transaction.atomic():
        template = CouponTemplate.objects.select_for_update().get(pk=bulk.template_id)
        if not template.is_active:
            counts["skipped_stock"] = len(batch)
            return counts
        now = timezone.now()
        valid_from, valid_until = template.validity_for(now)
        done = _ids(_DONE_SQL, {"bulk": bulk.pk, "customers": batch})
        todo = [c for c in batch if c not in done]
        barred = blacklisted_ids(todo)
        counts["skipped_blacklisted"] = len(barred)
        todo = [c for c in todo if c not in barred]
        limit = template.per_customer_limit
        holding = {"template": template.pk, "limit": limit, "customers": todo}
        room = max(template.stock - template.issued_count, 0)
        affordable = (
            None
            if bulk.campaign_id is None or not todo
            else _campaign_room(bulk.campaign_id, template.face_value)
        )
        pays = affordable is None or affordable >= len(todo)
        if todo and limit >= 1 and room >= len(todo) and pays:
            # Stock and budget pay for the whole batch: one upsert counts each customer's
            # coupon where the limit allows it (row by row, atomically).
            under = _ids(_TAKE_HOLDINGS_SQL, holding)
            taken = [c for c in todo if c in under]
            counts["skipped_limit"] = len(todo) - len(taken)
            raised = len(taken)
        else:
            _write(_HOLDINGS_SQL, holding)
            # Under the template's row lock no other issuer of this template moves its
            # holdings.
            under = _ids(_UNDER_SQL, holding)
            eligible = [c for c in todo if c in under]
            counts["skipped_limit"] = len(todo) - len(eligible)
            taken = eligible[:room]
            counts["skipped_stock"] = len(eligible) - len(taken)
            if affordable is not None:
                counts["skipped_budget"] = max(len(taken) - affordable, 0)
                taken = taken[:affordable]
            raised = _write(_RAISE_SQL, {**holding, "customers": taken}) if taken else 0
        if (
            taken
            and bulk.campaign_id is not None
            and not take_campaign_budget(
                bulk.campaign_id, template.face_value * len(taken), template.face_value
            )
        ):
            raise RuntimeError("bulk issue: the campaign's budget moved under its lock")
        if not taken:
            return counts
        if raised != len(taken) or not take_stock(
            template.pk, len(taken), campaign_id=bulk.campaign_id
        ):
            raise RuntimeError("bulk issue: counters moved under the template's lock")
        row = {
            "template": template.pk,
            "unit": template.business_unit_id,
            "campaign": bulk.campaign_id,
            "face": template.face_value,
            "source": IssueSource.BULK.value,
            "key": bulk.key,
            "bulk": bulk.pk,
            "now": now,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "status": CouponStatus.ISSUED.value,
            "customers": taken,
        }
        for attempt in range(CODE_ATTEMPTS):
            try:
                with transaction.atomic():
                    _write(_COUPONS_SQL, {**row, "codes": new_codes(len(taken))})
                break
            except IntegrityError as exc:
                if not _is_code_collision(exc) or attempt == CODE_ATTEMPTS - 1:
                    raise
        counts["issued"] = len(taken)
    return counts


def run_bulk_issue(
    bulk_id: int, *, progress: Callable[[float], None] | None = None, batch_size: int = BULK_BATCH
) -> dict[str, int]:
    """Issue the run's coupons batch by batch (each batch one transaction); safe to run again
    or concurrently with itself: what a customer received from this run is never issued
    twice (``(bulk_issue, customer)`` is unique and re-checked under the template's lock)."""
    bulk = BulkIssue.objects.get(pk=bulk_id)
    BulkIssue.objects.filter(pk=bulk.pk).update(status=BulkIssueStatus.RUNNING)
    ids = [int(i) for i in bulk.customer_ids]
    totals = {
        "issued": 0,
        "skipped_limit": 0,
        "skipped_stock": 0,
        "skipped_blacklisted": 0,
        "skipped_budget": 0,
    }
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        counts = _issue_batch(bulk, batch)
        for key, value in counts.items():
            totals[key] += value
        if progress is not None:
            progress(100 * (start + len(batch)) / max(len(ids), 1))
    issued = Coupon.objects.filter(bulk_issue=bulk).count()
    BulkIssue.objects.filter(pk=bulk.pk).update(
        status=BulkIssueStatus.DONE,
        processed=len(ids),
        issued=issued,
        skipped_limit=totals["skipped_limit"],
        skipped_stock=totals["skipped_stock"],
        skipped_blacklisted=totals["skipped_blacklisted"],
        skipped_budget=totals["skipped_budget"],
    )
    return {**totals, "issued_total": issued}


@job_handler(
    "campaigns.bulk_issue",
    label=gettext_lazy("Issue coupons in bulk"),
    result_labels={
        "issued": gettext_lazy("Issued"),
        "skipped_limit": gettext_lazy("Skipped: limit reached"),
        "skipped_stock": gettext_lazy("Skipped: out of stock"),
        "skipped_blacklisted": gettext_lazy("Skipped: blacklisted"),
        "skipped_budget": gettext_lazy("Skipped: campaign budget spent"),
        "issued_total": gettext_lazy("Issued by this run in all"),
    },
)
def bulk_issue_job(ctx: JobContext) -> dict[str, int]:
    ctx.progress(1, _("Issuing coupons"))
    try:
        return run_bulk_issue(
            int(ctx.params["bulk"]),
            progress=lambda percent: ctx.progress(percent, _("Issuing coupons")),
        )
    except Exception:
        BulkIssue.objects.filter(pk=int(ctx.params["bulk"])).update(status=BulkIssueStatus.FAILED)
        raise
