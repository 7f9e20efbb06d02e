"""The one place that knows which tenant the running code acts for.

A ContextVar (not a thread-local) so the value is correct under threads, asyncio
and Celery alike. Nothing else sets `app.current_tenant`: the database backend
(tenants.db) reads `get_current_tenant()` when it sends each statement.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger("tenants.context")

_current: ContextVar[Tenant | None] = ContextVar("current_tenant", default=None)
# Set only by placement_search_path(): the search_path for migrating or copying one placement.
_search_path: ContextVar[str | None] = ContextVar("search_path_override", default=None)
# Set only by dangerously_unscoped(): routes queries to the BYPASSRLS operator role.
_unscoped_reason: ContextVar[str | None] = ContextVar("unscoped_reason", default=None)


class NoTenantContext(RuntimeError):
    """Tenant-scoped data was touched with no tenant in context (fail closed)."""


def get_current_tenant() -> Tenant | None:
    return _current.get()


def require_current_tenant() -> Tenant:
    tenant = _current.get()
    if tenant is None:
        raise NoTenantContext(
            "no tenant in context: wrap the code in tenants.context.tenant_scope(tenant)"
        )
    return tenant


@contextmanager
def tenant_scope(tenant: Tenant | None) -> Iterator[Tenant | None]:
    """Run the block as `tenant` (or as nobody, with None); always restores the previous value."""
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def no_tenant():
    return tenant_scope(None)


@contextmanager
def clean_scope(where: str) -> Iterator[None]:
    """Run a unit of work (a request, a task) from a blank scope, whatever ran before.

    A scope left behind on this thread by a bug elsewhere is refused, not
    inherited: the block runs with no tenant, no RLS bypass and no search_path
    override, and the leak is logged as an error. The previous values are
    restored afterwards, like every scope here.
    """
    tenant, reason, schema = _current.get(), _unscoped_reason.get(), _search_path.get()
    if tenant is not None or reason is not None or schema is not None:
        logger.error(
            "leaked scope refused at the start of %s: tenant=%s unscoped=%r search_path=%r",
            where,
            getattr(tenant, "subdomain", tenant),
            reason,
            schema,
        )
    tokens = (_current.set(None), _unscoped_reason.set(None), _search_path.set(None))
    try:
        yield
    finally:
        _search_path.reset(tokens[2])
        _unscoped_reason.reset(tokens[1])
        _current.reset(tokens[0])


def unscoped_reason() -> str | None:
    return _unscoped_reason.get()


@contextmanager
def dangerously_unscoped(reason: str) -> Iterator[None]:
    """Cross-tenant operator access: queries go to the BYPASSRLS operator role.

    For operator commands and fleet jobs only. Every use is logged with its reason.
    """
    if not reason:
        raise ValueError("dangerously_unscoped() needs a reason")
    logger.warning("RLS bypass opened: %s", reason)
    token = _unscoped_reason.set(reason)
    try:
        yield
    finally:
        _unscoped_reason.reset(token)


def search_path_override() -> str | None:
    return _search_path.get()


@contextmanager
def placement_search_path(schema: str | None) -> Iterator[None]:
    """Statements in the block resolve unqualified tables in `schema` only.

    For operator code that migrates or copies one tenant schema; requests use
    the tenant's own search_path (its schema, then public) automatically.
    """
    token = _search_path.set(schema)
    try:
        yield
    finally:
        _search_path.reset(token)
