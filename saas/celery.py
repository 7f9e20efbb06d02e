"""The Celery app: Redis broker and result backend from settings.REDIS_URL, in-process without it."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")

# Every task is tenant-aware unless it says otherwise (tenants.celery.fleet_task).
app = Celery("saas", task_cls="tenants.celery:TenantTask")
# Read lazily, when Django's settings are loaded: see saas/celeryconfig.py.
app.config_from_object("saas.celeryconfig")
app.autodiscover_tasks(
    [
        "accounts",
        "billing",
        "idempotency",
        "jobs",
        "tenants",
        "observability",
        "operators",
        "webhooks",
    ]
)

app.conf.beat_schedule = {
    # Work accepted while the broker was down (tenants.outbox): published once it is back.
    "tenants-outbox-drain": {
        "task": "tenants.outbox_drain",
        "schedule": 60.0,
    },
    # Spare placements (tenants.backends.spares): each claim queues a refill; this tops
    # up what a lost message or a burst of sign-ups left short.
    "tenants-spares-refill": {
        "task": "tenants.spares_refill",
        "schedule": 60.0,
    },
    # Usage roll-up for the billing period so far; cheap and idempotent, so hourly.
    "billing-usage-rollup": {
        "task": "billing.usage_rollup",
        "schedule": crontab(minute=7),
    },
    # Expired trials, over-limit tenants: once a night, after the day's roll-up.
    "billing-plan-compliance": {
        "task": "billing.plan_compliance",
        "schedule": crontab(hour=2, minute=30),
    },
    # Idempotency records expire after 24 h (replay already ignores expired ones): hourly purge.
    "idempotency-purge": {
        "task": "idempotency.purge_expired",
        "schedule": crontab(minute=23),
    },
    # Webhook deliveries whose retry is due beyond a countdown, or whose message was lost.
    "webhooks-sweep": {
        "task": "webhooks.sweep",
        "schedule": 60.0,
    },
    # Webhook events and finished deliveries past WEBHOOKS_RETENTION_DAYS.
    "webhooks-purge": {
        "task": "webhooks.purge",
        "schedule": crontab(hour=3, minute=41),
    },
    # Per-tenant SLA figures: minutes into hours and days, retention.
    "sla-rollup": {
        "task": "observability.sla_rollup",
        "schedule": crontab(minute="*/5"),
    },
    # Tenants breaching their plan's objectives this month: audit entry + operator email.
    "sla-breaches": {
        "task": "operators.sla_breaches",
        "schedule": crontab(minute=17),
    },
}
