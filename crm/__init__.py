"""The customer master and the platform every app of the group CRM stands on."""

from crm.celery import app as celery_app

__all__ = ["celery_app"]
