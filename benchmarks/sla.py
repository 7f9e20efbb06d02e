"""`sla_recording_us`: what measuring a request costs on the request path (µs per request).

Times `observability.middleware.record()` (per-tenant aggregation + the
Prometheus histogram) for requests spread over many tenants and routes, with a
recorder that never flushes (the flush runs on its own thread, off the path).
"""

from __future__ import annotations

import statistics
import time
import uuid
from unittest import mock

ROUTES = ("/api/v1/projects/", "/projects/<uuid:project_id>/", "/accounts/login/", "/")
TENANTS = 2000
CALLS = 50_000
ROUNDS = 5


class _Match:
    def __init__(self, route: str):
        self.route, self.url_name = route.lstrip("/"), "view"


class _Request:
    def __init__(self, tenant, match):
        self.tenant, self.resolver_match = tenant, match


def _requests(n_tenants: int) -> list:
    from billing.models import Plan
    from tenants.models import Tenant

    plans = [Plan(code=code) for code in ("free", "pro", "enterprise")]
    requests = []
    for i in range(n_tenants):
        tenant = Tenant(id=uuid.uuid4(), subdomain=f"t{i}", plan=plans[i % 3])
        requests.append(_Request(tenant, _Match(ROUTES[i % len(ROUTES)])))
    return requests


def recording_us(calls: int = CALLS, rounds: int = ROUNDS, tenants: int = TENANTS) -> dict:
    from observability import middleware, routes
    from observability.recorder import Recorder

    requests = _requests(tenants)
    routes = [routes.route_of(r) for r in requests]
    per_round = []
    with mock.patch.object(middleware, "recorder", Recorder(flush_seconds=0)):
        for round_ in range(rounds + 1):
            n = len(requests)
            started = time.perf_counter()
            for i in range(calls):
                j = i % n
                middleware.record(requests[j], routes[j], 200 if i % 50 else 500, 12.5 + j % 300)
            if round_:  # the first round warms up (label children, tenant label cache)
                per_round.append((time.perf_counter() - started) / calls * 1e6)
            middleware.recorder.drain()
    return {
        "sla_recording_us": round(statistics.median(per_round), 2),
        "sla_recording_detail": {
            "rounds_us": [round(v, 2) for v in per_round],
            "min_us": round(min(per_round), 2),
            "calls_per_round": calls,
            "tenants": tenants,
            "includes": "per-tenant aggregation (lock + dict) and the Prometheus histogram",
        },
    }


def run(size=None) -> dict:
    return recording_us()
