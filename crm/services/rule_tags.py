"""Rule-based tags: a tag whose rule (``TagRule``) decides who carries it.

Applying a rule is set-based: one statement computes the customers it matches now (into a
temporary table), one inserts the links they lack (``ON CONFLICT DO NOTHING``: a tag already
set by hand stays as it was) and one deletes the links this rule set on customers it no
longer matches (links set by hand or by another rule are never touched). The links record
the rule (``CustomerTag.rule = TagRule.key``) and when. The rule's row is locked while it
applies, so two runs of one rule follow each other; running it again changes nothing. The
nightly run (beat, 04:30 Asia/Shanghai) and the admin's "apply now" are the job
``crm.apply_tag_rules``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.jobs import JobContext, job_handler
from crm.models import Job, Tag, TagRule
from crm.rules import matching_ids_sql, validate_rule

APPLY_TAG_RULES_JOB_KIND = "crm.apply_tag_rules"

# The customers matched are kept in a temporary table with a primary key, so that removing
# the links of those no longer matched is an index lookup per link whatever the planner
# believes of freshly inserted links (one statement with a CTE took 60 s instead of 2 s on a
# re-run when the statistics did not yet know the links: a nested loop over the CTE).
_MATCHED_TABLE = "rule_tag_matched"
_ADD_SQL = f"""
INSERT INTO crm_customertag (customer_id, tag_id, set_by_id, rule, created_at)
SELECT m.id, %s, NULL, %s, %s FROM pg_temp.{_MATCHED_TABLE} m
ON CONFLICT (customer_id, tag_id) DO NOTHING
"""  # noqa: S608 (a constant)
_REMOVE_SQL = f"""
DELETE FROM crm_customertag ct
WHERE ct.tag_id = %s AND ct.rule = %s
  AND NOT EXISTS (SELECT 1 FROM pg_temp.{_MATCHED_TABLE} m WHERE m.id = ct.customer_id)
"""  # noqa: S608 (a constant)


@dataclass(frozen=True)
class RuleTagOutcome:
    matched: int
    added: int
    removed: int


def save_tag_rule(*, tag: Tag, rule: Any, actor: Any = None, is_active: bool = True) -> TagRule:
    """Give ``tag`` a rule (or change it); the rule is validated whole first."""
    normalized = validate_rule(rule)
    now = timezone.now()
    with transaction.atomic():
        tag_rule, created = TagRule.objects.select_for_update().get_or_create(
            tag=tag,
            defaults={
                "rule": normalized,
                "is_active": is_active,
                "created_by": actor if getattr(actor, "pk", None) else None,
            },
        )
        if not created:
            tag_rule.rule = normalized
            tag_rule.is_active = is_active
            tag_rule.updated_at = now
            tag_rule.save(update_fields=["rule", "is_active", "updated_at"])
    return tag_rule


def apply_tag_rule(*, tag_rule: TagRule, now: datetime | None = None) -> RuleTagOutcome:
    """Bring the rule's tag in line with its rule, in one statement (see the module)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = TagRule.objects.select_for_update().get(pk=tag_rule.pk)
        normalized = validate_rule(locked.rule)
        matched_sql, params = matching_ids_sql(normalized, now=now, validated=True)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_MATCHED_TABLE}")
            cursor.execute(
                f"CREATE TEMP TABLE {_MATCHED_TABLE} (id bigint PRIMARY KEY) ON COMMIT DROP"
            )
            cursor.execute(f"INSERT INTO pg_temp.{_MATCHED_TABLE} {matched_sql}", params)
            matched = cursor.rowcount
            cursor.execute(f"ANALYZE pg_temp.{_MATCHED_TABLE}")
            cursor.execute(_ADD_SQL, [locked.tag_id, locked.key, now])
            added = cursor.rowcount
            cursor.execute(_REMOVE_SQL, [locked.tag_id, locked.key])
            removed = cursor.rowcount
            cursor.execute(f"DROP TABLE pg_temp.{_MATCHED_TABLE}")
        TagRule.objects.filter(pk=locked.pk).update(
            applied_at=now, matched=matched, added=added, removed=removed
        )
    return RuleTagOutcome(matched=matched, added=added, removed=removed)


def apply_tag_rules(
    *,
    rule_ids: list[int] | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int, TagRule], None] | None = None,
) -> dict[str, int]:
    """Apply the active rules (or those of ``rule_ids``, active or not), one transaction
    each; totals of the run."""
    rules = TagRule.objects.select_related("tag").order_by("pk")
    rules = rules.filter(pk__in=rule_ids) if rule_ids is not None else rules.filter(is_active=True)
    chosen = list(rules)
    totals = {"rules": 0, "matched": 0, "added": 0, "removed": 0}
    for n, tag_rule in enumerate(chosen):
        if progress:
            progress(n, len(chosen), tag_rule)
        outcome = apply_tag_rule(tag_rule=tag_rule, now=now)
        totals["rules"] += 1
        totals["matched"] += outcome.matched
        totals["added"] += outcome.added
        totals["removed"] += outcome.removed
    return totals


@job_handler(
    APPLY_TAG_RULES_JOB_KIND,
    label=gettext_lazy("Apply tag rules"),
    result_labels={
        "rules": gettext_lazy("Rules applied"),
        "matched": gettext_lazy("Customers matched"),
        "added": gettext_lazy("Tags added"),
        "removed": gettext_lazy("Tags removed"),
    },
)
def apply_tag_rules_job(ctx: JobContext) -> dict[str, int]:
    """Params: ``rules`` (ids; absent: every active rule)."""
    raw = ctx.params.get("rules")
    rule_ids = [int(pk) for pk in raw] if isinstance(raw, list) else None

    def report(done: int, total: int, tag_rule: TagRule) -> None:
        ctx.progress(
            100 * done / max(1, total),
            _("Applying “%(tag)s” (%(done)d of %(total)d)")
            % {"tag": tag_rule.tag.label, "done": done + 1, "total": total},
        )

    return apply_tag_rules(rule_ids=rule_ids, progress=report)


def start_tag_rules_job(*, user: Any = None, rule_ids: list[int] | None = None) -> Job:
    from crm.services.platform import start_job

    params: dict[str, Any] = {}
    if rule_ids is not None:
        params["rules"] = sorted({int(pk) for pk in rule_ids})
    return start_job(kind=APPLY_TAG_RULES_JOB_KIND, user=user, params=params)
