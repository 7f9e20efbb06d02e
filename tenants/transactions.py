"""Transactions on the connection that holds the current tenant's rows."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def _tenant_atomic() -> Iterator[None]:
    from tenants.routers import data_alias

    with transaction.atomic(using=data_alias()):
        yield


def tenant_atomic(func=None):
    """`transaction.atomic` on the current tenant's data alias, chosen at call time.

    Services use it (as `@tenant_atomic` or `with tenant_atomic():`) instead of
    `transaction.atomic()` so a tenant whose rows live in its own database
    gets its transaction there.
    """
    if func is None:
        return _tenant_atomic()

    @functools.wraps(func)
    def inner(*args, **kwargs):
        with _tenant_atomic():
            return func(*args, **kwargs)

    return inner
