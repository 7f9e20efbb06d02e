"""The transactions every billing write runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, transaction

from tenants.context import tenant_scope
from tenants.transactions import tenant_atomic


@contextmanager
def billing_atomic(tenant) -> Iterator[None]:
    """The tenant's scope, a transaction on the tenant's data alias (audit rows, usage counts)
    and one on the main database (billing rows, the tenant row); one when they are the same.

    Entered with `with` from the first step, so a failure at any step — opening the
    tenant database's transaction included — unwinds the scope it entered.
    """
    # Load the plan before entering the scope: Tenant.context_prefix reads it,
    # and a lazy load from inside the scope would need the prefix itself.
    tenant.plan  # noqa: B018
    # The data alias's transaction is the outer one, so it commits last: it
    # holds the plan lock, which must outlive the commit of the plan itself
    # (in the main database), or a creation could read the old plan after a
    # change had compared usage with the new one.
    with (
        tenant_scope(tenant),
        tenant_atomic(),
        transaction.atomic(using=DEFAULT_DB_ALIAS, savepoint=False),
    ):
        yield
