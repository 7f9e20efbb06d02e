"""Connection housekeeping at request boundaries, visiting only the connections in use.

Django clears the query logs and closes obsolete connections at every request's start
and end (`django.db.reset_queries`, `close_old_connections`) by visiting every alias
the thread has initialised. This process also registers an alias per tenant database
and per server's pool at runtime (`tenants.backends.database.RuntimeAliases`, up to
TENANT_DB_MAX_POOLS): a thread that has served 20 database tenants visited 20 more
aliases three times per request whether the request used them or not, each visit a
context-local look-up (44 `close_if_unusable_or_obsolete` calls per request against 4
in shared mode, in an in-process profile of the bench's database-mode list). The cost
grew with the number of tenant databases a process had served.

Here a `tenants.db` wrapper is visited when it connected since the last boundary or
still holds a connection (`note_connected`, called by `DatabaseWrapper.connect`, which
every checkout from a pool goes through); aliases of other engines in the settings are
visited as Django visits them. The work done per wrapper is Django's own.
"""

from __future__ import annotations

from asgiref.local import Local
from django.core import signals
from django.db import close_old_connections as django_close_old_connections
from django.db import connections
from django.db import reset_queries as django_reset_queries

from tenants.database_config import ENGINE

_context = Local()


def _touched() -> set:
    wrappers = getattr(_context, "wrappers", None)
    if wrappers is None:
        wrappers = _context.wrappers = set()
    return wrappers


def note_connected(wrapper) -> None:
    """A tenants.db wrapper took a connection in this context (thread or request)."""
    _touched().add(wrapper)


def _other_engines() -> list:
    """Initialised wrappers of aliases whose engine is not tenants.db (a stock alias)."""
    return [
        connections[alias]
        for alias, config in connections.settings.items()
        if config.get("ENGINE") != ENGINE
    ]


def _test_client(sender) -> bool:
    """Django's test client keeps connections open across its requests (it disconnects
    Django's receivers around each one, and connects them again after): so do these."""
    return getattr(sender, "__module__", "") == "django.test.client"


def request_started(sender=None, **kwargs) -> None:
    if _test_client(sender):
        return
    touched = _touched()
    for wrapper in [*touched, *_other_engines()]:
        wrapper.queries_log.clear()
        wrapper.close_if_unusable_or_obsolete()
    # Wrappers given back at the last request's end have had their log cleared now.
    for wrapper in [w for w in touched if w.connection is None]:
        touched.discard(wrapper)


def request_finished(sender=None, **kwargs) -> None:
    if _test_client(sender):
        return
    for wrapper in [*_touched(), *_other_engines()]:
        wrapper.close_if_unusable_or_obsolete()


def install() -> None:
    """Take the place of Django's receivers (called once, from TenantsConfig.ready)."""
    signals.request_started.disconnect(django_reset_queries)
    signals.request_started.disconnect(django_close_old_connections)
    signals.request_finished.disconnect(django_close_old_connections)
    signals.request_started.connect(request_started, dispatch_uid="tenants.db.request_started")
    signals.request_finished.connect(request_finished, dispatch_uid="tenants.db.request_finished")
