"""Transactions on the connection that holds the current tenant's rows."""

from __future__ import annotations

import functools

from django.db import transaction


class _TenantAtomic:
    def __enter__(self):
        from tenants.routers import data_alias

        self._atomic = transaction.atomic(using=data_alias())
        return self._atomic.__enter__()

    def __exit__(self, *exc):
        return self._atomic.__exit__(*exc)


def tenant_atomic(func=None):
    """`transaction.atomic` on the current tenant's data alias, chosen at call time.

    Services use it (as `@tenant_atomic` or `with tenant_atomic():`) instead of
    `transaction.atomic()` so a tenant whose rows live in its own database
    gets its transaction there.
    """
    if func is None:
        return _TenantAtomic()

    @functools.wraps(func)
    def inner(*args, **kwargs):
        with _TenantAtomic():
            return func(*args, **kwargs)

    return inner
