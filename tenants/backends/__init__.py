"""Isolation backends: where a tenant's rows live. Code outside tenants/ never branches on the mode."""

from __future__ import annotations

from contextvars import ContextVar

from tenants.backends.base import IsolationBackend
from tenants.backends.shared import SharedBackend

_BACKENDS: dict[str, IsolationBackend] = {"shared": SharedBackend()}

_migrating: ContextVar[str | None] = ContextVar("migrating_placement", default=None)


def register(mode: str, backend: IsolationBackend) -> None:
    _BACKENDS[mode] = backend


def backend_for(tenant) -> IsolationBackend:
    try:
        return _BACKENDS[tenant.isolation]
    except KeyError:
        raise LookupError(f"no isolation backend for mode {tenant.isolation!r}") from None


def migrating_placement() -> str | None:
    """Set while migrating one tenant's own schema/database (tenant tables only)."""
    return _migrating.get()
