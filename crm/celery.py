"""Celery application: broker from ``CELERY_BROKER_URL`` (Redis or RabbitMQ in production),
a filesystem transport under ``var/`` when it is unset."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
