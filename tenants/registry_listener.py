"""One thread per process that hears registry changes (LISTEN tenant_registry).

The trigger installed by migration tenants 0007 NOTIFYs the subdomain of every
changed tenant ('*' for a plan or server change) when the change commits. The
listener drops those entries from this process's cache and the shared one, so
a change takes effect in milliseconds. It is an accelerator, not the
guarantee: while it is disconnected, entries still expire after
TENANT_REGISTRY_MAX_AGE. One extra database connection per process, made
directly to the main server (never through a PgBouncer in front of the app role).
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from tenants.context import no_tenant

logger = logging.getLogger("tenants.registry_listener")

CHANNEL = "tenant_registry"
_state = {"pid": None, "connected": False}
_lock = threading.Lock()
# The caches that hold registry state (tenants.resolvers subscribes at import): the
# listener tells them, it does not know them.
_subscribers: list[tuple] = []


def subscribe(*, reset, change, prefix: str = "") -> None:
    """`reset()` when this process starts listening (after a fork too: the parent's entries
    are not ours to trust); `change(payload)` per notification, `*` meaning everything.

    Without a prefix a subscriber hears the registry's own payloads (subdomains); other
    caches of tenant rows (API tokens, webhook subscriptions) name the prefix their triggers send and hear only
    those, and `*`.
    """
    if (prefix, reset, change) not in _subscribers:
        _subscribers.append((prefix, reset, change))


def relay(payload: str, *, written_on: str) -> None:
    """Send `payload` on the channel from the main database, for a change committed on
    `written_on`.

    Triggers NOTIFY in the database they fire in, and listeners hear only the main one: a
    change committed in a tenant's own database (or another server's pool) reaches no
    listener by itself. The service that made it relays its message here, after its
    commit; a change written there by other means waits for the cache's bound. On the main
    database the trigger has already spoken: nothing to do.
    """
    if written_on == DEFAULT_DB_ALIAS:
        return
    with no_tenant(), connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def _subscribers_by_prefix() -> list[tuple]:
    return [(prefix, change) for prefix, _, change in _subscribers]


def ensure_running() -> None:
    """Start the listener in this process once (again after a fork)."""
    pid = os.getpid()
    if _state["pid"] == pid or not settings.TENANT_REGISTRY_LISTEN:
        return
    with _lock:
        if _state["pid"] == pid:
            return
        _state.update(pid=pid, connected=False)
        for _, reset, _ in _subscribers:
            reset()  # forked from a parent: its entries are not ours to trust
        threading.Thread(target=_run, args=(pid,), name="tenant-registry", daemon=True).start()


def is_connected() -> bool:
    return _state["connected"] and _state["pid"] == os.getpid()


def _conninfo() -> dict:
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold", "pool"):
        params.pop(key, None)
    # LISTEN belongs to a session. APP_DATABASE_URL may name a PgBouncer in transaction
    # mode, which hands the server connection that ran LISTEN to other clients at once:
    # the listener would hear nothing and still look connected. So it logs in as the app
    # role at DATABASE_URL's own address (the main server itself; migrations use it too).
    direct = connections["owner"].settings_dict
    for key, name in (("host", "HOST"), ("port", "PORT")):
        if direct[name]:
            params[key] = str(direct[name])
        else:
            params.pop(key, None)
    params["dbname"] = direct["NAME"]
    # Named apart from the request pools: it is one more connection per process,
    # outside their bound (docs/operations.md).
    params["application_name"] = "tenantry-registry-listener"
    return params


def _apply(payload: str) -> None:
    if payload != "*":
        for prefix, change in _subscribers_by_prefix():
            if prefix and payload.startswith(prefix):
                change(payload)
                return
    for prefix, change in _subscribers_by_prefix():
        if payload == "*" or not prefix:
            change(payload)


def _run(pid: int) -> None:
    backoff = 0.2
    while _state["pid"] == pid:
        try:
            with psycopg.connect(**_conninfo(), autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                _state["connected"] = True
                backoff = 0.2
                # Anything cached before we listened may have missed a message.
                _apply("*")
                while _state["pid"] == pid:
                    for note in conn.notifies(timeout=30):
                        _apply(note.payload)
                    conn.execute("SELECT 1")  # notice a dead connection within 30 s
        except Exception as exc:
            if _state["connected"]:
                logger.warning("registry listener lost its connection (%s)", exc)
            _state["connected"] = False
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
