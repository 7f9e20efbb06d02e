"""Tenantry project package. Importing it loads the Celery app (shared_task binds to it)."""

from saas.celery import app as celery_app

__all__ = ["celery_app"]
