"""Test settings: the real settings on PostgreSQL, with fast hashing and eager Celery."""

import os

os.environ.setdefault("DEBUG", "true")

from crm.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "zh-hans"
# Query counts pinned by the suite are the application's own; the shared cache (database or
# Redis in production) is replaced by a per-process one so throttle bookkeeping is not counted.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
