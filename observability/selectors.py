"""Reading SLA figures: percentiles from histograms, a tenant's month, the fleet's breaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from observability.models import LATENCY_BOUNDS_MS, SlaRollup
from tenants.context import dangerously_unscoped

# The slowest bucket has no upper bound: a percentile falling there reads as this.
OVERFLOW_MS = LATENCY_BOUNDS_MS[-1] * 2


def percentile_ms(buckets: list[int], q: float) -> float | None:
    """The q-quantile (0..1) of a latency histogram, linearly interpolated within its bucket."""
    total = sum(buckets)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(buckets):
        if n and seen + n >= rank:
            low = LATENCY_BOUNDS_MS[i - 1] if i > 0 else 0
            high = LATENCY_BOUNDS_MS[i] if i < len(LATENCY_BOUNDS_MS) else OVERFLOW_MS
            return round(low + (high - low) * (rank - seen) / n, 1)
        seen += n
    return float(OVERFLOW_MS)


@dataclass
class SlaFigures:
    count: int = 0
    errors: int = 0
    duration_ms_sum: float = 0.0
    buckets: list | None = None

    def add(self, row) -> None:
        self.count += row.count
        self.errors += row.errors
        self.duration_ms_sum += row.duration_ms_sum
        self.buckets = [
            a + b for a, b in zip(self.buckets or [0] * len(row.buckets), row.buckets, strict=True)
        ]

    @property
    def availability(self) -> float | None:
        """Percent of requests answered without a server error (5xx)."""
        return round(100 * (1 - self.errors / self.count), 3) if self.count else None

    def p(self, q: float) -> float | None:
        return percentile_ms(self.buckets or [], q)

    @property
    def p50(self):
        return self.p(0.50)

    @property
    def p95(self):
        return self.p(0.95)

    @property
    def p99(self):
        return self.p(0.99)


def month_start(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _window_filter(since: datetime, until: datetime) -> Q:
    """Day rows for whole days, then hour rows, then minute rows: each request counted once."""
    day_end = until.replace(hour=0, minute=0, second=0, microsecond=0)
    hour_end = until.replace(minute=0, second=0, microsecond=0)
    return (
        Q(period="d", start__gte=since, start__lt=day_end)
        | Q(period="h", start__gte=max(since, day_end), start__lt=hour_end)
        | Q(period="m", start__gte=max(since, hour_end), start__lt=until)
    )


def tenant_sla_figures(
    *, tenant, since: datetime, until: datetime | None = None, route_group: str | None = None
) -> SlaFigures:
    """One tenant's figures over a window (read through RLS: call inside its scope)."""
    until = until or timezone.now()
    rows = SlaRollup.objects.filter(_window_filter(since, until), tenant_id=tenant.pk)
    if route_group:
        rows = rows.filter(route_group=route_group)
    figures = SlaFigures()
    for row in rows:
        figures.add(row)
    return figures


def tenant_latency_series(*, tenant, period: str = "h", since: datetime) -> list[dict]:
    """Per hour (or day, minute): start, requests, errors and p95, oldest first."""
    series: dict[datetime, SlaFigures] = {}
    rows = SlaRollup.objects.filter(tenant_id=tenant.pk, period=period, start__gte=since)
    for row in rows.order_by("start"):
        series.setdefault(row.start, SlaFigures()).add(row)
    return [
        {"start": start, "count": f.count, "errors": f.errors, "p95": f.p95}
        for start, f in series.items()
    ]


def fleet_sla_figures(*, since: datetime, until: datetime | None = None) -> dict:
    """{tenant_id: SlaFigures} over a window, across the fleet (operator data)."""
    until = until or timezone.now()
    figures: dict = {}
    with dangerously_unscoped("SLA fleet view: figures of every tenant"):
        for row in SlaRollup.unscoped.filter(_window_filter(since, until)).iterator():
            figures.setdefault(row.tenant_id, SlaFigures()).add(row)
    return figures


def recent_window(minutes: int = 15) -> tuple[datetime, datetime]:
    now = timezone.now()
    return now - timedelta(minutes=minutes), now
