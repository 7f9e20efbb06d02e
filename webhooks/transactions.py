"""The two databases a webhook write touches, in one transaction.

Delivery state lives where the router puts WebhookDelivery (the main database); the
audit rows of the same write live in the tenant's data alias.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import router, transaction

from tenants.transactions import tenant_atomic
from webhooks.models import WebhookDelivery


def delivery_alias() -> str:
    return router.db_for_write(WebhookDelivery)


@contextmanager
def both_atomic():
    """The tenant's data alias (audit rows) and the main database (delivery state), one
    transaction when they are the same; the main database's commits first."""
    with tenant_atomic(), transaction.atomic(using=delivery_alias()):
        yield
