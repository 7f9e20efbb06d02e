"""Host → tenant. Parsing is pure; lookups are cached so the steady state costs no query.

Cache layers: L1 is a dict in this process, L2 the `tenants` cache alias
(Redis in production), then the control-plane table. A change to a tenant
deletes the L2 key and publishes the subdomain on a Redis channel; a listener
thread in every process drops its L1 entry. While that listener is not
connected, L1 is bypassed, so no process serves a stale tenant for long. When
the cache itself is down, lookups fall back to the database.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger("tenants.resolvers")

APEX, TENANT, OPERATOR, INVALID, UNKNOWN = (
    "apex",
    "tenant",
    "operator",
    "invalid",
    "unknown",
)
_LABEL = re.compile(r"^[a-z0-9-]{1,63}$")
CHANNEL_BASE = "tenants:invalidate"
_NEGATIVE = "-"  # cached "no such tenant"
NEGATIVE_TTL = 30


@dataclass(frozen=True, slots=True)
class HostMatch:
    kind: str
    subdomain: str | None = None
    reason: str = ""


def match_host(host: str, base_domain: str | None = None) -> HostMatch:
    """Classify a Host header (already through Django's ALLOWED_HOSTS check).

    Deliberate choices: DNS is case-insensitive, so ACME.example.com is acme;
    the fully-qualified form with a trailing dot is the same host; the port is
    ignored; punycode labels cannot be subdomains (refused at creation, so they
    resolve to nothing); nested subdomains name no tenant.
    """
    base = (base_domain or settings.BASE_DOMAIN).lower()
    host = (host or "").strip().lower()
    if not host or host.startswith("["):
        return HostMatch(INVALID, reason="not a domain name")
    domain = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain.isascii():
        return HostMatch(INVALID, reason="non-ASCII host")
    if domain == base:
        return HostMatch(APEX)
    if not domain.endswith("." + base):
        return HostMatch(INVALID, reason="not under the service domain")
    label = domain[: -len(base) - 1]
    if "." in label:
        return HostMatch(UNKNOWN, reason="nested subdomains name no organisation")
    if not _LABEL.match(label):
        return HostMatch(INVALID, reason="malformed subdomain")
    if label == "www":
        return HostMatch(APEX)
    if label == settings.OPERATOR_SUBDOMAIN:
        return HostMatch(OPERATOR)
    return HostMatch(TENANT, subdomain=label)


# --- cached lookup ------------------------------------------------------------

_l1: dict[str, tuple[float, object]] = {}
_l1_lock = threading.Lock()
_listener = {"pid": None, "healthy": False, "thread": None}


def _l2():
    return caches["tenants"]


def _key(subdomain: str) -> str:
    return "host:" + subdomain


def _l1_usable() -> bool:
    if not settings.REDIS_URL:
        return True  # single-process embedded default: invalidation is local
    _ensure_listener()
    return _listener["healthy"]


def tenant_for_subdomain(subdomain: str):
    """The Tenant (with its plan loaded) for a subdomain, or None."""
    now = time.monotonic()
    use_l1 = _l1_usable()
    if use_l1:
        hit = _l1.get(subdomain)
        if hit is not None and hit[0] > now:
            return hit[1]
    found = _cache_get(subdomain)
    if found is None:
        found = _from_database(subdomain)
        _cache_set(subdomain, found)
    tenant = None if found == _NEGATIVE else found
    if use_l1:
        ttl = settings.TENANT_RESOLVER_L1_TTL if tenant is not None else NEGATIVE_TTL
        _l1[subdomain] = (now + ttl, tenant)
    return tenant


def _from_database(subdomain: str):
    from tenants.context import no_tenant
    from tenants.models import Tenant

    with no_tenant():
        tenant = (
            Tenant.objects.select_related("plan", "database_server")
            .filter(subdomain=subdomain)
            .first()
        )
    if tenant is None:
        return _NEGATIVE
    tenant.context_prefix  # noqa: B018 - computed once, carried in the cache
    return tenant


def _cache_get(subdomain: str):
    try:
        return _l2().get(_key(subdomain))
    except Exception as exc:  # the cache is an optimisation: never fail on it
        logger.warning("tenant cache unavailable (%s); using the database", exc.__class__.__name__)
        return None


def _cache_set(subdomain: str, value) -> None:
    try:
        timeout = NEGATIVE_TTL if value == _NEGATIVE else None
        _l2().set(_key(subdomain), value, timeout=timeout)
    except Exception as exc:
        logger.warning("tenant cache unavailable (%s); not caching", exc.__class__.__name__)


def invalidate(subdomain: str) -> None:
    """Forget a tenant everywhere: this process, the shared cache, every other process."""
    with _l1_lock:
        _l1.pop(subdomain, None)
    try:
        _l2().delete(_key(subdomain))
    except Exception as exc:
        logger.warning("tenant cache delete failed (%s)", exc.__class__.__name__)
    if settings.REDIS_URL:
        try:
            _redis().publish(_channel(), subdomain)
        except Exception as exc:
            logger.warning("tenant invalidation publish failed (%s)", exc.__class__.__name__)


def invalidate_many(subdomains) -> None:
    """Forget many tenants at once (fleet operations): one delete, one message."""
    subdomains = list(subdomains)
    if not subdomains:
        return
    with _l1_lock:
        for sub in subdomains:
            _l1.pop(sub, None)
    try:
        _l2().delete_many([_key(s) for s in subdomains])
    except Exception as exc:
        logger.warning("tenant cache delete failed (%s)", exc.__class__.__name__)
    if settings.REDIS_URL:
        try:
            _redis().publish(_channel(), "*")
        except Exception as exc:
            logger.warning("tenant invalidation publish failed (%s)", exc.__class__.__name__)


def clear_local() -> None:
    with _l1_lock:
        _l1.clear()


# --- cross-process invalidation -----------------------------------------------


def _channel() -> str:
    return f"{CHANNEL_BASE}:{settings.CACHES['tenants'].get('KEY_PREFIX', '')}"


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)


def _ensure_listener() -> None:
    pid = os.getpid()
    if _listener["pid"] == pid:
        return
    with _l1_lock:
        if _listener["pid"] == pid:
            return
        _listener.update(pid=pid, healthy=False)
        _l1.clear()  # forked from a parent: its L1 is not ours to trust
        thread = threading.Thread(target=_listen, name="tenant-invalidation", daemon=True)
        _listener["thread"] = thread
        thread.start()


def _listen() -> None:
    import redis

    backoff = 0.2
    while True:
        try:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=1, health_check_interval=10
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(_channel())
            clear_local()  # anything cached before we listened may be stale
            _listener["healthy"] = True
            backoff = 0.2
            for message in pubsub.listen():
                if message.get("type") == "message":
                    sub = message["data"].decode()
                    with _l1_lock:
                        if sub == "*":
                            _l1.clear()
                        else:
                            _l1.pop(sub, None)
        except Exception as exc:
            if _listener["healthy"]:
                logger.warning("tenant invalidation listener lost Redis (%s)", exc)
            _listener["healthy"] = False
            clear_local()
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
