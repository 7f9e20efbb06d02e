"""Isolation backends: where a tenant's rows live. Code outside tenants/ never branches on the mode.

This package's own module is the registry and nothing more: `backend_for(tenant)` looks
the tenant's mode up among the backends registered with `register()`. The concrete
backends (`shared.py`, `schema.py`, `database.py`) register in `TenantsConfig.ready()`
(tenants/apps.py), so the modules below them (the Tenant model asks for its context SQL,
the router for the tenant's alias) import this registry, never the backends: the imports
point one way, from the backends down to the model.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from tenants.backends.base import IsolationBackend

_migrating: ContextVar[str | None] = ContextVar("migrating_placement", default=None)
_BACKENDS: dict[str, IsolationBackend] = {}


def register(mode: str, backend: IsolationBackend) -> None:
    """Make `backend` the one that places tenants of isolation mode `mode`."""
    _BACKENDS[mode] = backend


def backend_for(tenant) -> IsolationBackend:
    try:
        return _BACKENDS[tenant.isolation]
    except KeyError:
        if not _BACKENDS:
            raise LookupError(
                "no isolation backend is registered yet (TenantsConfig.ready() registers them)"
            ) from None
        raise LookupError(f"no isolation backend for mode {tenant.isolation!r}") from None


def modes(**wanted) -> list[str]:
    """The isolation modes whose backend has every attribute given: modes(own_placement=True)."""
    return [
        mode
        for mode, backend in _BACKENDS.items()
        if all(getattr(backend, name) == value for name, value in wanted.items())
    ]


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
