"""Host → tenant. Parsing is pure; lookups are cached so the steady state costs no query.

Cache layers: L1 is a bounded LRU in this process, L2 the `tenants` cache alias
(Redis when configured), then the control-plane table. **Staleness bound**: every
entry carries the wall-clock time its row was read, and no layer returns an
entry older than `REGISTRY_MAX_AGE` seconds (settings.TENANT_REGISTRY_MAX_AGE).
That bound holds in every configuration — embedded without Redis, with Redis,
with Redis down (L2 misses, the database answers) — because it needs no
message to arrive. Messages only make changes faster: a trigger on the
registry tables NOTIFYs on commit and a listener thread in every process
(tenants.registry_listener) drops the entries at once. Steps that cannot wait
for the bound fence the old placement instead (tenants.fence).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from tenants import registry_listener

logger = logging.getLogger("tenants.resolvers")

APEX, TENANT, OPERATOR, INVALID, UNKNOWN, CUSTOM = (
    "apex",
    "tenant",
    "operator",
    "invalid",
    "unknown",
    "custom",  # a host outside BASE_DOMAIN: maybe a tenant's verified custom domain
)
_LABEL = re.compile(r"^[a-z0-9-]{1,63}$")
_NEGATIVE = "-"  # cached "no such tenant"


@dataclass(frozen=True, slots=True)
class HostMatch:
    kind: str
    subdomain: str | None = None
    reason: str = ""
    domain: str | None = None
    port: str = ""

    @property
    def canonical(self) -> str:
        """The custom domain as links may use it: the name, and a numeric port if any."""
        return f"{self.domain}:{self.port}" if self.port else str(self.domain)


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
    domain, _, port = host.partition(":") if host.count(":") == 1 else (host, "", "")
    if port and not (port.isdigit() and len(port) <= 5):
        # "app.customer.com:x@evil.example" must never become part of a link.
        return HostMatch(INVALID, reason="malformed port")
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain.isascii():
        return HostMatch(INVALID, reason="non-ASCII host")
    if domain == base:
        return HostMatch(APEX)
    if not domain.endswith("." + base):
        if is_domain_name(domain):
            return HostMatch(CUSTOM, domain=domain, port=port)
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


def is_domain_name(domain: str) -> bool:
    """A fully qualified DNS name (two labels or more, not an IP address)."""
    labels = domain.split(".")
    return (
        len(domain) <= 253
        and len(labels) >= 2
        and all(_LABEL.match(label) and not label.startswith("-") for label in labels)
        and not labels[-1].isdigit()
    )


# --- cached lookup ------------------------------------------------------------

# subdomain → (wall-clock time the row was read, Tenant or _NEGATIVE), least recent first.
_l1: OrderedDict[str, tuple[float, object]] = OrderedDict()
_l1_lock = threading.Lock()


def max_age() -> float:
    """The registry's staleness bound in seconds: what every cache layer honours."""
    return settings.TENANT_REGISTRY_MAX_AGE


# A tenant in a passing state (being moved or set up) is re-read this often, so it
# is served again as soon as the state ends, whatever the bound.
PASSING_STATE_MAX_AGE = 1.0


def _fresh_enough(entry, now: float, bound: float) -> bool:
    age = now - entry[0]
    if age >= bound:
        return False
    value = entry[1]
    if value != _NEGATIVE and value.status in ("moving", "provisioning"):
        return age < PASSING_STATE_MAX_AGE
    return True


def _l2():
    return caches["tenants"]


def _key(subdomain: str) -> str:
    return "host:" + subdomain


def tenant_for_subdomain(subdomain: str):
    """The Tenant (with its plan loaded) for a subdomain, or None; at most max_age() old."""
    return _lookup(subdomain, {"subdomain": subdomain})


DOMAIN_KEY = "d:"
CUSTOM_DOMAIN_FEATURE = "custom_domain"


def tenant_for_domain(domain: str):
    """The Tenant a verified custom domain belongs to, or None (same cache, same bound).

    A domain is served only while its tenant's plan includes custom domains: a
    downgrade (a plan change notifies every process) stops it like a removal.
    """
    tenant = _lookup(
        DOMAIN_KEY + domain, {"domains__domain": domain, "domains__verified_at__isnull": False}
    )
    if tenant is None or not tenant.plan.has_feature(CUSTOM_DOMAIN_FEATURE):
        return None
    return tenant


def _lookup(key: str, where: dict):
    registry_listener.ensure_running()
    now = time.time()
    bound = settings.TENANT_REGISTRY_MAX_AGE
    with _l1_lock:
        hit = _l1.get(key)
        if hit is not None and _fresh_enough(hit, now, bound):
            _l1.move_to_end(key)
            return None if hit[1] == _NEGATIVE else hit[1]
    entry = _cache_get(key)
    if entry is None or not _fresh_enough(entry, now, bound):
        entry = (time.time(), _from_database(where))  # read time taken before the query
        _cache_set(key, entry)
    with _l1_lock:
        _l1[key] = entry
        _l1.move_to_end(key)
        while len(_l1) > settings.TENANT_RESOLVER_L1_SIZE:
            _l1.popitem(last=False)
    return None if entry[1] == _NEGATIVE else entry[1]


def tenant_fresh(subdomain: str):
    """The Tenant read from the registry now, bypassing (and refreshing) every cache."""
    entry = (time.time(), _from_database({"subdomain": subdomain}))
    _cache_set(subdomain, entry)
    with _l1_lock:
        _l1[subdomain] = entry
    return None if entry[1] == _NEGATIVE else entry[1]


def _from_database(where: dict):
    from tenants.context import no_tenant
    from tenants.models import Tenant

    with no_tenant():
        tenant = Tenant.objects.select_related("plan", "database_server").filter(**where).first()
    if tenant is None:
        return _NEGATIVE
    tenant.context_prefix  # noqa: B018 - computed once, carried in the cache
    return tenant


def _cache_get(subdomain: str):
    try:
        entry = _l2().get(_key(subdomain))
    except Exception as exc:  # the cache is an optimisation: never fail on it
        logger.warning("tenant cache unavailable (%s); using the database", exc.__class__.__name__)
        return None
    return entry if isinstance(entry, tuple) and len(entry) == 2 else None


def _cache_set(subdomain: str, entry) -> None:
    try:
        # The cache's own expiry is a backstop; the read time inside decides.
        _l2().set(_key(subdomain), entry, timeout=max(1, int(max_age()) + 1))
    except Exception as exc:
        logger.warning("tenant cache unavailable (%s); not caching", exc.__class__.__name__)


def forget_local(subdomain: str | None) -> None:
    """Drop this process's entry (None: every entry)."""
    with _l1_lock:
        if subdomain is None:
            _l1.clear()
        else:
            _l1.pop(subdomain, None)


def invalidate(subdomain: str) -> None:
    """Forget a tenant in this process and the shared cache.

    Other processes learn it from the registry trigger's NOTIFY (on commit of
    the change) and, whatever happens to that message, within max_age().
    """
    forget_local(subdomain)
    try:
        _l2().delete(_key(subdomain))
    except Exception as exc:
        logger.warning("tenant cache delete failed (%s)", exc.__class__.__name__)


def invalidate_many(subdomains) -> None:
    """Forget many tenants at once (fleet operations)."""
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


def clear_local() -> None:
    forget_local(None)


def local_size() -> int:
    return len(_l1)


def _registry_changed(payload: str) -> None:
    if payload == "*":
        forget_local(None)
    else:
        invalidate(payload)


registry_listener.subscribe(reset=clear_local, change=_registry_changed)
