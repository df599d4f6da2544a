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
# The shared cache (database or Redis in production) is a per-process one here. The API
# throttle counts in PostgreSQL (as in production without Redis): one query per API request.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
