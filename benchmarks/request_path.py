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
import sys

from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
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
    return {
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
