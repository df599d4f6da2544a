"""Counting requests per caller and window: one atomic increment with expiry.

Redis ``INCR`` after ``SET NX EX`` when the shared cache is Redis; otherwise one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` on :class:`crm.models.RateCounter` in
PostgreSQL. The count lives outside the process, and no two requests read the same count.
"""

from __future__ import annotations

import time
from datetime import timedelta

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
