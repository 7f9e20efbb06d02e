"""The outermost middleware: request id, timing, per-tenant recording, metrics, access log.

Outermost, so refusals of the tenant middleware (unknown host, suspended,
moving) are timed, logged and carry `X-Request-ID` too. It reads
`request.tenant` after the response: TenantMiddleware has set it by then,
and its scope has ended, so nothing here touches tenant data.
"""

from __future__ import annotations

import time

from observability import logs, metrics, slow_statements
from observability.recorder import recorder
from observability.routes import route_group, route_of

# Probes and scrapes say nothing about a tenant's service.
UNRECORDED_ROUTES = frozenset({"healthz", "readyz", "metrics"})


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = logs.accepted_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        # The request a slow statement is attributed to (set and reset inline: per request).
        token = slow_statements.current_request.set(request)
        try:
            with logs.request_id_scope(request_id):
                response = self.get_response(request)
                duration_ms = (time.perf_counter() - started) * 1000
                response["X-Request-ID"] = request_id
                route = route_of(request)
                record(request, route, response.status_code, duration_ms)
                logs.log_request(request, response, route=route, duration_ms=duration_ms)
        finally:
            slow_statements.current_request.reset(token)
        return response


def record(request, route: str, status: int, duration_ms: float) -> None:
    """The request-path cost of measurement (`sla_recording_us` in make bench)."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name in UNRECORDED_ROUTES:
        return
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        tenant_key, plan, placement = tenant.__dict__.get(_LABELS) or _labels(tenant)
        group = _groups.get(route) or _groups.setdefault(route, route_group(route))
        recorder.record(tenant_key, group, status, duration_ms)
    else:
        plan = placement = "-"
    metrics.observe(
        plan=plan, placement=placement, route=route, status=status, seconds=duration_ms / 1000
    )


# Route templates are a bounded set: their groups are computed once.
_groups: dict[str, str] = {}
_LABELS = "_sla_labels"


def _labels(tenant) -> tuple[str, str, str]:
    """(tenant key, plan code, placement), kept on the (resolver-cached) tenant instance."""
    # The resolver caches tenants with their plan; never a query on this path.
    plan = tenant.plan if tenant.__class__.plan.is_cached(tenant) else None
    labels = (tenant.id.hex, plan.code if plan is not None else "-", tenant.isolation)
    tenant.__dict__[_LABELS] = labels
    return labels
