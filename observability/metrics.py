"""Prometheus metrics with bounded labels only: plan, placement, route, status class.

Never a tenant label (10,000 tenants would be 10,000 series per metric): the
per-tenant view is SlaRollup. Under gunicorn with several workers, set
PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at start): each worker
writes its samples to files there and `/metrics` sums them across workers.
Without it, each process reports its own figures (fine for one worker).
Only counters and histograms: no gauge whose files would need
`multiprocess.mark_process_dead()` when a worker exits.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from observability.health import is_internal_client
from observability.models import LATENCY_BOUNDS_MS

LABELS = ("plan", "placement", "route", "status")

REQUEST_SECONDS = Histogram(
    "tenantry_http_request_duration_seconds",
    "Duration of HTTP requests served, by plan, placement, route template and status class.",
    LABELS,
    buckets=[ms / 1000 for ms in LATENCY_BOUNDS_MS],
)
SLA_FLUSH_ROWS = Counter(
    "tenantry_sla_rollup_rows_flushed",
    "Per-tenant SLA rows written by this process's flusher.",
)
_children: dict[tuple, object] = {}


def observe(*, plan: str, placement: str, route: str, status: int, seconds: float) -> None:
    key = (plan, placement, route, status // 100)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_SECONDS.labels(plan, placement, route, f"{key[3]}xx")
    child.observe(seconds)


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)


def metrics_view(request):
    if not _may_scrape(request):
        return HttpResponse(status=404)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def _may_scrape(request) -> bool:
    """A bearer token when one is configured, otherwise a loopback or private client address."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return is_internal_client(request)
