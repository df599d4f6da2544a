"""Customers that may be one: a pair queued for review, and the set-based search for pairs."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.jobs import JobContext, job_handler
from crm.models import Customer, DuplicateCandidate


def record_duplicate_candidate(
    *,
    first: Customer,
    second: Customer,
    reason: str,
    detail: str = "",
    score: int = 50,
) -> DuplicateCandidate | None:
    """Queue a pair for review once; a pair already reviewed stays as it was decided.

    ``detail`` is data, not a sentence (the phone ending, the e-mail name, the source
    system, who proposed it): the screens say what it means in the reader's language."""
    if first.pk == second.pk:
        return None
    a, b = sorted((first.pk, second.pk))
    candidate, _created = DuplicateCandidate.objects.get_or_create(
        customer_a_id=a,
        customer_b_id=b,
        defaults={"reason": reason, "detail": detail[:300], "score": score},
    )
    return candidate


# E-mail local parts too generic to say anything about who is behind them.
GENERIC_LOCAL_PARTS = ("info", "admin", "sales", "contact", "service", "office", "support", "hr")

# The name key: lowercased, without spaces or punctuation (王 伟 = 王伟, "Li, Na" = lina).
_NAME_PHONE_SQL = """
WITH keyed AS (
    SELECT c.id, c.kind, right(i.value, 4) AS suffix,
           lower(regexp_replace(c.display_name, '[[:space:][:punct:]]', '', 'g')) AS name_key
    FROM crm_customer c JOIN crm_identity i ON i.customer_id = c.id AND i.type = 'mobile'
    WHERE c.merged_into_id IS NULL AND NOT c.name_is_generated
)
INSERT INTO crm_duplicatecandidate
    (customer_a_id, customer_b_id, reason, detail, score, status, created_at)
SELECT DISTINCT ON (x.id, y.id) x.id, y.id, 'name_phone_suffix',
       x.suffix, 70, 'open', now()
FROM keyed x JOIN keyed y
  ON x.name_key = y.name_key AND x.suffix = y.suffix AND x.kind = y.kind AND x.id < y.id
WHERE x.name_key <> ''
ON CONFLICT (customer_a_id, customer_b_id) DO NOTHING
"""

_EMAIL_NAME_SQL = """
WITH keyed AS (
    SELECT c.id, c.kind, c.display_name,
           lower(regexp_replace(c.display_name, '[[:space:][:punct:]]', '', 'g')) AS name_key,
           split_part(i.value, '@', 1) AS local_part
    FROM crm_customer c JOIN crm_identity i ON i.customer_id = c.id AND i.type = 'email'
    WHERE c.merged_into_id IS NULL AND NOT c.name_is_generated
)
INSERT INTO crm_duplicatecandidate
    (customer_a_id, customer_b_id, reason, detail, score, status, created_at)
SELECT DISTINCT ON (x.id, y.id) x.id, y.id, 'email_local_name',
       left(x.local_part, 2) || '***', 60, 'open', now()
FROM keyed x JOIN keyed y
  ON x.local_part = y.local_part AND x.kind = y.kind AND x.id < y.id
WHERE length(x.local_part) >= 3
  AND NOT (x.local_part = ANY(%s))
  AND (x.name_key = y.name_key OR similarity(x.display_name, y.display_name) >= 0.5)
ON CONFLICT (customer_a_id, customer_b_id) DO NOTHING
"""


def find_duplicate_candidates() -> dict[str, int]:
    """Queue pairs with the same name and phone ending, or the same e-mail name and a
    similar name. Pairs already queued or reviewed are left as they are."""
    found: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(_NAME_PHONE_SQL)
        found["name_phone_suffix"] = cursor.rowcount
        cursor.execute(_EMAIL_NAME_SQL, [list(GENERIC_LOCAL_PARTS)])
        found["email_local_name"] = cursor.rowcount
    return found


@job_handler(
    "crm.find_duplicates",
    label=gettext_lazy("Find duplicate customers"),
    result_labels={
        "name_phone_suffix": gettext_lazy("New pairs: same name and phone ending"),
        "email_local_name": gettext_lazy("New pairs: same e-mail name and similar name"),
    },
)
def find_duplicates_job(ctx: JobContext) -> dict[str, int]:
    ctx.progress(5, _("Comparing names, phone numbers and e-mail addresses"))
    found = find_duplicate_candidates()
    ctx.progress(100, _("Done"))
    return found
