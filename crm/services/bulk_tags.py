"""Tagging many customers at once: the selected rows of a page, or every customer matching
the list's filters (a background job beyond ``BULK_TAG_SYNC_LIMIT``).

Set-based and idempotent: one ``INSERT … ON CONFLICT DO NOTHING`` (or one ``DELETE``) per
batch, ``RETURNING`` the customers that really changed, and one ``tag.added`` /
``tag.removed`` timeline event for each of them (like ``add_tag``), in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.errors import DomainError
from crm.jobs import JobContext, job_handler
from crm.models import Job, Tag, TimelineEvent, User

BULK_TAG_SYNC_LIMIT = 1000
BULK_TAG_BATCH = 1000
BULK_TAG_JOB_KIND = "crm.bulk_tag"

_ADD_SQL = """
INSERT INTO crm_customertag (customer_id, tag_id, set_by_id, rule, created_at)
SELECT c.id, %(tag)s, %(actor)s, '', %(now)s
FROM crm_customer c
WHERE c.id = ANY(%(ids)s) AND c.merged_into_id IS NULL
ON CONFLICT (customer_id, tag_id) DO NOTHING
RETURNING customer_id
"""

_REMOVE_SQL = """
DELETE FROM crm_customertag WHERE tag_id = %(tag)s AND customer_id = ANY(%(ids)s)
RETURNING customer_id
"""


class BulkTagRefused(DomainError):
    code = "bulk_tag_refused"
    status = 403


class BulkTagCountChanged(DomainError):
    code = "bulk_tag_count_changed"
    status = 409


def check_bulk_tag_permission(*, user: Any, remove: bool) -> None:
    permission = "crm.delete_customertag" if remove else "crm.add_customertag"
    if not user.has_perm(permission):
        raise BulkTagRefused(
            _("You may not remove tags.") if remove else _("You may not add tags.")
        )


def tag_customers(
    *, customer_ids: Sequence[int], tag: Tag, actor: Any = None, remove: bool = False
) -> int:
    """Add ``tag`` to (or remove it from) these customers; returns how many changed (those
    that already had it, or did not, are left alone; tombstones are never tagged)."""
    ids = sorted({int(pk) for pk in customer_ids})
    if not ids:
        return 0
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _REMOVE_SQL if remove else _ADD_SQL,
            {"tag": tag.pk, "actor": actor_id, "now": now, "ids": ids},
        )
        changed = [row[0] for row in cursor.fetchall()]
        summary = (
            _("Tag “%(tag)s” removed") % {"tag": tag.name}
            if remove
            else _("Tagged “%(tag)s”") % {"tag": tag.name}
        )
        TimelineEvent.objects.bulk_create(
            TimelineEvent(
                customer_id=pk,
                type="tag.removed" if remove else "tag.added",
                summary=summary[:300],
                actor_id=actor_id,
                occurred_at=now,
                data={"tag": tag.pk, "bulk": True}
                if remove
                else {"tag": tag.pk, "rule": "", "bulk": True},
            )
            for pk in changed
        )
    return len(changed)


@dataclass(frozen=True)
class BulkTagOutcome:
    matched: int
    changed: int | None = None  # None: running as ``job``
    job: Job | None = None


def tag_matching_customers(
    *, user: Any, filters: Any, tag: Tag, remove: bool = False, expected: int | None = None
) -> BulkTagOutcome:
    """Tag every customer the list's ``filters`` match (``selectors.CustomerFilters``).

    ``expected`` is the count the user confirmed: when the filter now matches another number
    the action is refused, so nobody tags more customers than they agreed to. Up to
    ``BULK_TAG_SYNC_LIMIT`` customers are tagged at once, more by a job with progress."""
    from crm import selectors
    from crm.services.platform import start_job

    check_bulk_tag_permission(user=user, remove=remove)
    customers, _audit = selectors.matching_customers(user=user, filters=filters)
    matched = customers.count()
    if expected is not None and expected != matched:
        raise BulkTagCountChanged(
            _(
                "The filter now matches %(now)d customers, not the %(expected)d you confirmed; "
                "check the list and try again."
            )
            % {"now": matched, "expected": expected},
            field="expected",
        )
    if matched > BULK_TAG_SYNC_LIMIT:
        job = start_job(
            kind=BULK_TAG_JOB_KIND,
            user=user,
            params={
                "filters": filters.as_params(),
                "tag": tag.pk,
                "remove": remove,
                "matched": matched,
            },
        )
        return BulkTagOutcome(matched=matched, job=job)
    changed = 0
    for batch in selectors.id_batches(customers, BULK_TAG_BATCH):
        changed += tag_customers(customer_ids=batch, tag=tag, actor=user, remove=remove)
    return BulkTagOutcome(matched=matched, changed=changed)


@job_handler(
    BULK_TAG_JOB_KIND,
    label=gettext_lazy("Tag customers"),
    result_labels={
        "matched": gettext_lazy("Customers matching the filter"),
        "changed": gettext_lazy("Customers changed"),
        "tag": gettext_lazy("Tag"),
    },
)
def bulk_tag_job(ctx: JobContext) -> dict[str, Any]:
    """Params: ``filters`` (the list's query parameters), ``tag``, ``remove``, ``matched``.
    Runs as the user who started it; each batch commits on its own (a rerun is harmless)."""
    from crm import selectors

    params = ctx.params
    user = User.objects.filter(pk=ctx.job.created_by_id).first()
    if user is None:
        raise DomainError(_("The user who started this job no longer exists."))
    tag = Tag.objects.filter(pk=params.get("tag")).first()
    if tag is None:
        raise DomainError(_("This tag no longer exists."), field="tag")
    remove = bool(params.get("remove"))
    check_bulk_tag_permission(user=user, remove=remove)
    filters = selectors.CustomerFilters.from_params(params.get("filters") or {})
    customers, _audit = selectors.matching_customers(user=user, filters=filters)
    total = max(1, int(params.get("matched") or 1))
    done = changed = 0
    ctx.progress(1, _("Tagging customers"))
    for batch in selectors.id_batches(customers, BULK_TAG_BATCH):
        changed += tag_customers(customer_ids=batch, tag=tag, actor=user, remove=remove)
        done += len(batch)
        ctx.progress(
            min(99, 100 * done / total),
            ngettext("%(count)d customer done", "%(count)d customers done", done) % {"count": done},
        )
    return {"matched": done, "changed": changed, "tag": str(tag)}
