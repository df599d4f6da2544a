"""The periodic tasks (Celery beat), times in Asia/Shanghai; read by ``crm.settings`` (kept
apart so that the settings stay short)."""

from __future__ import annotations

from celery.schedules import crontab

CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-keys": {
        "task": "crm.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
    "purge-finished-jobs": {
        "task": "crm.tasks.purge_finished_jobs",
        "schedule": 24 * 3600.0,
    },
    "fail-stale-jobs": {
        "task": "crm.tasks.fail_stale_jobs",
        "schedule": 300.0,
    },
    "find-duplicate-customers": {
        "task": "crm.tasks.find_duplicates",
        "schedule": crontab(hour=2, minute=30),  # nightly, Asia/Shanghai
    },
    "recompute-customer-metrics": {
        "task": "crm.tasks.recompute_metrics",
        "schedule": crontab(hour=2, minute=0),  # nightly, Asia/Shanghai (crm/METRICS.md)
    },
    "metrics-monthly-snapshot": {
        "task": "crm.tasks.snapshot_metrics",
        "schedule": crontab(day_of_month=1, hour=1, minute=30),
    },
    "flag-due-credit-reviews": {
        "task": "accounts.tasks.flag_due_credit_reviews",
        "schedule": crontab(hour=6, minute=0),  # before the working day, Asia/Shanghai
    },
    "members-expire-points": {
        "task": "members.tasks.expire_points",
        "schedule": crontab(hour=1, minute=10),  # nightly, Asia/Shanghai
    },
    "members-evaluate-levels": {
        "task": "members.tasks.evaluate_levels",
        "schedule": crontab(hour=3, minute=40),
    },
    "apply-tag-rules": {
        "task": "crm.tasks.apply_tag_rules",
        "schedule": crontab(hour=4, minute=30),  # nightly, after the levels, Asia/Shanghai
    },
    "campaigns-expire-coupons": {
        "task": "campaigns.tasks.expire_coupons",
        "schedule": crontab(hour=0, minute=20),  # just after midnight, Asia/Shanghai
    },
    "campaigns-refresh-rollup": {  # the coupon results overview's figures (as of the run)
        "task": "campaigns.tasks.refresh_rollup",
        "schedule": 600.0,
    },
    "leads-recycle": {"task": "leads.tasks.recycle_leads", "schedule": crontab(minute=5)},
}
