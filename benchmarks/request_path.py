"""context_overhead_us and context_round_trips: one view through the tenant path and a plain path.

In process, through Django's WSGI handler (no network, no server): the
tenant side is SecurityMiddleware + CommonMiddleware + TenantMiddleware and
the bench DRF view on the tenant host, which lists 10 projects through the
project selector on `default` (tenants.db, app role, RLS). The plain side
is the same two middlewares without TenantMiddleware and the same view
shape on the stock backend with an explicit tenant filter. Both
connections are persistent and warm. Round trips are counted on the wire
by `benchmarks.wire.WireCounter` in a separate pass (the proxy adds
latency, so the timing pass runs without it).
"""

from __future__ import annotations

import io
import os
import sys

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections, transaction
from django.test import override_settings

from benchmarks import data
from benchmarks.common import interleave, log, median, ratio_summary, timed
from benchmarks.wire import WireCounter

BASE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
TENANT = [*BASE, "tenants.middleware.TenantMiddleware"]


def _handler(middleware):
    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler()


def _caller(handler, host: str, path: str):
    def call():
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": host,
            "HTTP_ACCEPT": "application/json",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status = []
        body = b"".join(handler(environ, lambda s, h, *a: status.append(s)))
        if not status[0].startswith("200"):
            raise RuntimeError(f"{host}{path}: {status[0]} {body[:300]!r}")
        return body

    return call


def run(size) -> dict:
    tenants = [data.tenant(r) for r in data.sample_ranks(size).values()]
    tenant_handler, plain_handler = _handler(TENANT), _handler(BASE)
    tenant_calls = [
        _caller(tenant_handler, f"{t.subdomain}.localhost", "/bench/projects/") for t in tenants
    ]
    plain_calls = [_caller(plain_handler, "localhost", f"/plain/{t.pk}/projects/") for t in tenants]

    def side(calls):
        return lambda: sum(timed(c, size.inner) for c in calls) / len(calls)

    for c in tenant_calls + plain_calls:  # warm: connections, resolver cache, URL resolvers
        c()
    pairs = interleave(size.rounds * 2, side(tenant_calls), side(plain_calls))
    summary = ratio_summary(pairs, 1e6)
    overhead = median([(a - b) * 1e6 for a, b in pairs])
    log(
        f"context: +{overhead:.0f} µs per request, ratio {summary['ratio']:.3f} "
        f"({summary['a_median']:.0f} vs {summary['b_median']:.0f} µs)"
    )
    trips = _round_trips(tenant_calls, plain_calls)
    parts = breakdown(size)
    return {
        **parts,
        "context_overhead_us": overhead,
        "context_request_ratio": summary["ratio"],
        "context_tenant_request_us": summary["a_median"],
        "context_plain_request_us": summary["b_median"],
        "context_round_trips": trips["extra"],
        "context_round_trips_detail": trips,
    }


def _round_trips(tenant_calls, plain_calls) -> dict:
    proxies, saved = [], {}
    for alias in ("default", "plain"):
        conn = connections[alias]
        conn.close()
        sd = conn.settings_dict
        saved[alias] = (sd["HOST"], sd["PORT"], dict(sd["OPTIONS"]))
        proxy = WireCounter(sd["HOST"] or "127.0.0.1", int(sd["PORT"] or 5432))
        proxies.append(proxy)
        sd["HOST"], sd["PORT"] = "127.0.0.1", proxy.port
        sd["OPTIONS"]["sslmode"] = "disable"
        conn.close_pool()  # a pool keeps the address it was built with

    def count(call, proxy) -> int:
        before = proxy.count
        call()
        return proxy.count - before

    try:
        for c in tenant_calls + plain_calls:
            c()  # connect outside the counted requests (the test client keeps it)
        tenant = [count(c, proxies[0]) for c in tenant_calls for _ in range(5)]
        plain = [count(c, proxies[1]) for c in plain_calls for _ in range(5)]
    finally:
        for alias, proxy in zip(("default", "plain"), proxies, strict=True):
            connections[alias].close()
            sd = connections[alias].settings_dict
            sd["HOST"], sd["PORT"], sd["OPTIONS"] = saved[alias]
            connections[alias].close_pool()
            proxy.close()
    detail = {
        "tenant_path_per_request": median(tenant),
        "plain_path_per_request": median(plain),
        "tenant_path_max": max(tenant),
        "plain_path_max": max(plain),
    }
    detail["extra"] = detail["tenant_path_per_request"] - detail["plain_path_per_request"]
    log(
        f"round trips per request: tenant {detail['tenant_path_per_request']}, plain {detail['plain_path_per_request']}"
    )
    return detail


def breakdown(size) -> dict:
    """µs per component of one GET /api/v1/projects/, in process, the components interleaved.

    Each line is one piece of the request as the product runs it, next to what the
    stock way (benchmarks.stock) pays for the same piece: tenancy lines (the host,
    the context statement, RLS on the list's two statements) against product lines
    (token, plan, rate limit, health check).
    """
    import psycopg

    from accounts.models import ApiToken
    from accounts.services import token_authenticate, token_create
    from billing.limits import feature_require
    from billing.models import Plan
    from billing.ratelimit import RateLimiter
    from projects.models import Project
    from projects.selectors import project_list
    from tenants import resolvers
    from tenants.context import tenant_scope
    from tenants.database_config import admin_conninfo

    plain = "plain"
    tenant = data.tenant(data.sample_ranks(size)["medium"])
    with tenant_scope(tenant):
        raw = token_create(tenant=tenant, name="bench-breakdown", scopes=["read"]).secret
    key_id = raw.split("_")[1]
    redis_url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    limiter = RateLimiter(redis_url or None)
    raw_conn = psycopg.connect(
        admin_conninfo(settings.DATABASE_URL, data.dbname()), autocommit=True
    )

    def in_scope(fn):
        def call():
            with tenant_scope(tenant):
                return fn()

        return call

    def attributed(fn):
        try:
            from tenants.attribution import request_tag
        except ImportError:  # code without statement attribution
            return in_scope(fn)

        def call():
            with tenant_scope(tenant), request_tag(tenant=tenant.subdomain, request_id="b" * 32):
                return fn()

        return call

    def tenant_statement():
        with connections["default"].cursor() as cur:
            cur.execute("SELECT 1")

    def plain_statement():
        with connections[plain].cursor() as cur:
            cur.execute("SELECT 1")

    def tenant_transaction():
        with transaction.atomic():
            tenant_statement()
            tenant_statement()

    def plain_transaction():
        with transaction.atomic(using=plain):
            plain_statement()
            plain_statement()

    def tenant_list():
        qs = project_list(tenant=tenant).order_by("-created_at", "id")
        qs.count()
        list(qs[:50])

    def tenant_page():
        from api.paginator import CountedPaginator

        qs = project_list(tenant=tenant).order_by("-created_at", "id")
        list(CountedPaginator(qs, 50).page(1))

    def plain_list():
        qs = Project.unscoped.using(plain).filter(tenant_id=tenant.pk).order_by("-created_at", "id")
        qs.count()
        list(qs[:50])

    parts = {
        # tenancy
        "host → tenant (resolver cache)": lambda: resolvers.tenant_for_subdomain(tenant.subdomain),
        "one statement, tenancy (enter call + RLS)": in_scope(tenant_statement),
        "one statement, tenancy, attributed (leading comment)": attributed(tenant_statement),
        "one statement, stock backend": plain_statement,
        # BEGIN rides on the first statement's message here; stock Django sends it alone.
        "transaction of 2 statements, tenancy": in_scope(tenant_transaction),
        "transaction of 2 statements, stock backend": plain_transaction,
        "COUNT + page of 50, tenancy": in_scope(tenant_list),
        "COUNT + page of 50, stock": plain_list,
        "page of 50 with its count, one statement (api.paginator), tenancy": in_scope(tenant_page),
        # product
        "token, product (cache by key id + hash)": in_scope(
            lambda: token_authenticate(tenant=tenant, raw=raw)
        ),
        "token, ORM query (stock; the product before)": lambda: (
            ApiToken.unscoped.using(plain)
            .select_related("created_by")
            .filter(tenant_id=tenant.pk, key_id=key_id)
            .first()
        ),
        "plan gate, product (cached plan)": lambda: feature_require(
            tenant=tenant, feature="api_access"
        ),
        "plan, fresh query (the product before)": lambda: Plan.objects.using(plain).get(
            tenants__pk=tenant.pk
        ),
        "rate limit (Redis MULTI INCR/EXPIRE)"
        if redis_url
        else "rate limit (in process)": lambda: limiter.hit(tenant_id=tenant.pk, limit=10**9),
        "health-check round trip (pool check, the product before)": lambda: raw_conn.execute(""),
    }
    spread, spread_conns = _placement_spread()
    parts.update(spread)
    try:
        for fn in parts.values():  # warm
            fn()
        names = list(parts)
        rounds = []
        for r in range(size.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            rounds.append({n: timed(parts[n], size.inner) * 1e6 for n in order})
    finally:
        raw_conn.close()
        for conn in spread_conns:
            conn.close()
    out = {n: median([x[n] for x in rounds]) for n in parts}
    for n, v in out.items():
        log(f"breakdown: {n}: {v:.0f} µs")
    return {"api_breakdown_us": out}


def _placement_spread() -> tuple[dict, list]:
    """`SELECT 1` on the bench's tenant databases in turn vs on one connection.

    What serving a tenant from its own database costs before any tenancy: the process
    talks to one backend per database, and each statement wakes a different one (its
    caches colder than a backend that served the statement before). The superuser, no
    context, no RLS. Empty until the api stage has placed the database tenants.
    """
    import psycopg

    from tenants.database_config import admin_conninfo
    from tenants.models import Tenant

    names = list(
        Tenant.objects.filter(isolation="database")
        .exclude(database_name="")
        .order_by("database_name")
        .values_list("database_name", flat=True)[:20]
    )
    if len(names) < 2:
        return {}, []
    conns = [
        psycopg.connect(admin_conninfo(settings.DATABASE_URL, n), autocommit=True) for n in names
    ]
    one = psycopg.connect(admin_conninfo(settings.DATABASE_URL, names[0]), autocommit=True)
    turn = [0]

    def in_turn():
        turn[0] += 1
        conns[turn[0] % len(conns)].execute("SELECT 1").fetchone()

    def same():
        one.execute("SELECT 1").fetchone()

    return {
        f"one statement, {len(conns)} tenant databases in turn (placement, no tenancy)": in_turn,
        "one statement, one tenant database (placement, no tenancy)": same,
    }, [*conns, one]
