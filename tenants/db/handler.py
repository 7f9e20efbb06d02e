"""Django's connection handler, with a walk over the open wrappers that does not grow with the fleet.

Django's request signals (`reset_queries`, `close_old_connections` at the start and the end)
call `connections.all(initialized_only=True)` three times per request, and stock Django asks
the thread's storage once per *registered* alias to find the initialised ones: a `hasattr`
through asgiref's `Local`, which first probes for a running event loop (an exception in a
sync thread), ~1.5–2 µs each. A process serving tenant databases registers one alias per
database it has served (tenants.backends.database.RuntimeAliases), so with 20 databases that
walk alone took ~200 µs of every request, in database mode only.

Here the storage is read once per walk and each registered alias is a dict look-up. The answer
is the same list in the same order (tests/tenants/test_connection_walk.py compares it with
Django's own); where the storage is not the plain thread-local one (inside an event loop, or a
future asgiref), Django's own walk answers.
"""

from __future__ import annotations

import threading

from django.db.utils import ConnectionHandler


class TenantConnectionHandler(ConnectionHandler):
    def all(self, initialized_only: bool = False):
        held = _held(self._connections) if initialized_only else None
        if held is None:
            return super().all(initialized_only=initialized_only)
        return [held[alias] for alias in self.settings if alias in held]


def _held(local) -> dict | None:
    """The wrappers this thread holds by alias, or None where only Django's walk can tell."""
    get_storage = getattr(local, "_get_storage", None)  # asgiref's thread-critical Local
    if get_storage is None:
        return None
    storage = get_storage()
    if not isinstance(storage, threading.local):
        return None  # a context variable inside an event loop
    return vars(storage)


def install(handler) -> None:
    """Give Django's `connections` this walk (its class only: every importer keeps the object)."""
    if type(handler) is ConnectionHandler:
        handler.__class__ = TenantConnectionHandler
