"""Isolation backends: where a tenant's rows live. Code outside tenants/ never branches on the mode."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from tenants.backends.base import IsolationBackend

_migrating: ContextVar[str | None] = ContextVar("migrating_placement", default=None)


def backend_for(tenant) -> IsolationBackend:
    from tenants.backends.database import DatabaseBackend
    from tenants.backends.schema import SchemaBackend
    from tenants.backends.shared import SharedBackend

    global _BACKENDS
    if not _BACKENDS:
        _BACKENDS = {
            "shared": SharedBackend(),
            "schema": SchemaBackend(),
            "database": DatabaseBackend(),
        }
    try:
        return _BACKENDS[tenant.isolation]
    except KeyError:
        raise LookupError(f"no isolation backend for mode {tenant.isolation!r}") from None


_BACKENDS: dict[str, IsolationBackend] = {}


def migrating_placement() -> str | None:
    """Set while migrating one tenant's own schema/database (tenant tables only)."""
    return _migrating.get()


@contextmanager
def migrating_placement_scope(label: str):
    token = _migrating.set(label)
    try:
        yield
    finally:
        _migrating.reset(token)
