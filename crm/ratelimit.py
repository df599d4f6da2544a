"""Counting requests per caller and window: one atomic increment with expiry.

Redis ``INCR`` after ``SET NX EX`` when the shared cache is Redis; otherwise one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` on :class:`crm.models.RateCounter` in
PostgreSQL. The count lives outside the process, and no two requests read the same count.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cache

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.utils import timezone

_UPSERT = """
INSERT INTO crm_ratecounter (key, hits, expires_at) VALUES (%s, 1, %s)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN crm_ratecounter.expires_at <= now() THEN 1
                ELSE crm_ratecounter.hits + 1 END,
    expires_at = CASE WHEN crm_ratecounter.expires_at <= now() THEN EXCLUDED.expires_at
                      ELSE crm_ratecounter.expires_at END
RETURNING hits, expires_at
"""


def counts_in_database() -> bool:
    """True when hits are counted in PostgreSQL (the shared cache is not Redis)."""
    return not isinstance(caches["default"], RedisCache)


# The window of a rate ``n/period`` in seconds, as DRF's ``SimpleRateThrottle.parse_rate``
# reads it (the period's first letter).
_DURATION_SQL = """
CASE left(split_part({rate}, '/', 2), 1)
    WHEN 's' THEN 1 WHEN 'm' THEN 60 WHEN 'h' THEN 3600 WHEN 'd' THEN 86400 END
"""


@cache
def key_and_hit_sql() -> str:
    """An API key by its prefix, with its business unit, and the request counted under the
    key's throttle (``api_key:<id>``, the key's own rate or ``%(default_rate)s``) in the same
    statement, only when the key authenticates: the whole key's hash matches
    (``%(hash)s``), it is neither revoked nor expired and its unit is active. Columns: the
    key's, the unit's, then ``hits`` and ``expires_at`` (both NULL when nothing was counted)."""
    from crm.models import ApiKey, BusinessUnit

    key_columns = ", ".join(f'k."{f.column}"' for f in ApiKey._meta.concrete_fields)
    unit_columns = ", ".join(
        f'u."{f.column}" AS "u_{f.column}"' for f in BusinessUnit._meta.concrete_fields
    )
    unit_names = ", ".join(f'k."u_{f.column}"' for f in BusinessUnit._meta.concrete_fields)
    rate = "coalesce(nullif(k.rate, ''), %(default_rate)s)"
    key_names = ", ".join(f'k."{f.column}"' for f in ApiKey._meta.concrete_fields)
    return f"""
WITH k AS (
    SELECT {key_columns}, {unit_columns}
    FROM {ApiKey._meta.db_table} k
    JOIN {BusinessUnit._meta.db_table} u ON u.id = k.business_unit_id
    WHERE k.prefix = %(prefix)s
), hit AS (
    INSERT INTO crm_ratecounter (key, hits, expires_at)
    SELECT 'api_key:' || k.id, 1, now() + make_interval(secs => {_DURATION_SQL.format(rate=rate)})
    FROM k
    WHERE k.hashed_key = %(hash)s AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now()) AND k."u_is_active"
      AND {rate} <> ''
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN crm_ratecounter.expires_at <= now() THEN 1
                    ELSE crm_ratecounter.hits + 1 END,
        expires_at = CASE WHEN crm_ratecounter.expires_at <= now() THEN EXCLUDED.expires_at
                          ELSE crm_ratecounter.expires_at END
    RETURNING hits, expires_at
)
SELECT {key_names}, {unit_names}, hit.hits, hit.expires_at FROM k LEFT JOIN hit ON true
"""  # noqa: S608 (table and column names from the models; values are parameters)


def count_hit(key: str, duration: int) -> tuple[int, float]:
    """Count one request under ``key``: ``(hits in the current window, seconds left)``."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        window = int(time.time() // duration)
        bucket = f"throttle:{key}:{window}"
        cache.add(bucket, 0, timeout=duration + 1)
        hits = cache.incr(bucket)
        return hits, (window + 1) * duration - time.time()
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, timezone.now() + timedelta(seconds=duration)])
        hits, expires_at = cursor.fetchone()
    return hits, max(0.0, (expires_at - timezone.now()).total_seconds())


def purge_rate_counters() -> int:
    from crm.models import RateCounter

    deleted, _ = RateCounter.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
