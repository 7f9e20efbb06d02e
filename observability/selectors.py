"""Reading SLA figures: percentiles from histograms, a tenant's month, the fleet's breaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import Q
from django.utils import timezone

from observability.models import LATENCY_BOUNDS_MS, SlaRollup, SlowStatement
from tenants.context import dangerously_unscoped
from tenants.routers import data_alias

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
    """One tenant's figures over a window.

    Read through RLS in the tenant's scope, or in the operator's logged bypass;
    the explicit tenant filter serves both (and the index).
    """
    until = until or timezone.now()
    rows = SlaRollup.unscoped.filter(_window_filter(since, until), tenant_id=tenant.pk)
    if route_group:
        rows = rows.filter(route_group=route_group)
    figures = SlaFigures()
    for row in rows:
        figures.add(row)
    return figures


def tenant_latency_series(*, tenant, period: str = "h", since: datetime) -> list[dict]:
    """Per hour (or day, minute): start, requests, errors and p95, oldest first (RLS)."""
    rows = SlaRollup.unscoped.filter(tenant_id=tenant.pk, period=period, start__gte=since)
    return _series(rows)


def _series(rows) -> list[dict]:
    series: dict[datetime, SlaFigures] = {}
    for row in rows.order_by("start"):
        series.setdefault(row.start, SlaFigures()).add(row)
    return [
        {"start": start, "count": f.count, "errors": f.errors, "p95": f.p95}
        for start, f in series.items()
    ]


def fleet_sla_figures(*, since: datetime, until: datetime | None = None) -> dict:
    """{tenant_id: SlaFigures} over a window, across the fleet (operator data).

    Summed in the database (one row per tenant comes back), so the fleet view of
    10,000 tenants does not fold millions of rows in Python.
    """
    until = until or timezone.now()
    rows = SlaRollup.unscoped.filter(_window_filter(since, until))
    where, params = _where_sql(rows)
    figures: dict = {}
    with (
        dangerously_unscoped("SLA fleet view: figures of every tenant"),
        connections[data_alias()].cursor() as cur,
    ):
        cur.execute(FLEET_SQL.format(where=where), params)
        for tenant_id, count, errors, duration_ms_sum, buckets in cur.fetchall():
            figures[tenant_id] = SlaFigures(count, errors, duration_ms_sum, list(buckets))
    return figures


def _where_sql(queryset) -> tuple[str, list]:
    """The WHERE clause Django compiles for `queryset` (one source for the window rule)."""
    sql, params = queryset.values("id").query.sql_with_params()
    _, where = sql.split(" WHERE ", 1)
    if " WHERE " in where or " ORDER BY " in where:
        raise ValueError(f"not a plain filter: {sql}")
    return where, list(params)


FLEET_SQL = """
WITH src AS (
    SELECT tenant_id, count, errors, duration_ms_sum, buckets
    FROM observability_slarollup WHERE {where}
), totals AS (
    SELECT tenant_id, sum(count)::bigint AS count, sum(errors)::bigint AS errors,
           sum(duration_ms_sum) AS duration_ms_sum
    FROM src GROUP BY tenant_id
), per_bucket AS (
    SELECT tenant_id, i, sum(v)::bigint AS v
    FROM src, unnest(buckets) WITH ORDINALITY AS u(v, i) GROUP BY tenant_id, i
), histograms AS (
    SELECT tenant_id, array_agg(v ORDER BY i) AS buckets FROM per_bucket GROUP BY tenant_id
)
SELECT t.tenant_id, t.count, t.errors, t.duration_ms_sum, h.buckets
FROM totals t JOIN histograms h USING (tenant_id)
"""


def recent_window(minutes: int = 15) -> tuple[datetime, datetime]:
    now = timezone.now()
    return now - timedelta(minutes=minutes), now


# Below this many requests in a window, a percentile says little: no verdict.
MIN_REQUESTS_FOR_VERDICT = 20


@dataclass
class SlaVerdict:
    tenant: object
    figures: SlaFigures
    p95_objective_ms: int | None
    availability_objective: float | None

    @property
    def judged(self) -> bool:
        return self.figures.count >= MIN_REQUESTS_FOR_VERDICT

    @property
    def latency_breached(self) -> bool:
        p95 = self.figures.p95
        return bool(self.judged and self.p95_objective_ms and p95 and p95 > self.p95_objective_ms)

    @property
    def availability_breached(self) -> bool:
        got, want = self.figures.availability, self.availability_objective
        return bool(self.judged and want is not None and got is not None and got < want)

    @property
    def breached(self) -> bool:
        return self.latency_breached or self.availability_breached

    def breached_objectives(self) -> list[str]:
        return [
            name
            for name, hit in (
                ("latency", self.latency_breached),
                ("availability", self.availability_breached),
            )
            if hit
        ]


def sla_verdict(*, tenant, figures: SlaFigures) -> SlaVerdict:
    """The tenant's figures against its plan's objectives."""
    plan = tenant.plan
    availability = getattr(plan, "sla_availability_pct", None)
    return SlaVerdict(
        tenant=tenant,
        figures=figures,
        p95_objective_ms=getattr(plan, "sla_p95_ms", None),
        availability_objective=float(availability) if availability is not None else None,
    )


def tenant_month_service(*, tenant, now: datetime | None = None) -> SlaVerdict:
    """ "Your service this month": the tenant's own figures (RLS: call inside its scope)."""
    now = now or timezone.now()
    figures = tenant_sla_figures(tenant=tenant, since=month_start(now), until=now)
    return sla_verdict(tenant=tenant, figures=figures)


def fleet_sla(*, since: datetime, until: datetime | None = None) -> list[SlaVerdict]:
    """Every tenant with traffic in the window, breaching first, then the worst p95 first."""
    from tenants.models import Tenant

    figures = fleet_sla_figures(since=since, until=until)
    tenants = Tenant.objects.select_related("plan").in_bulk(list(figures))
    verdicts = [
        sla_verdict(tenant=tenants[tid], figures=f) for tid, f in figures.items() if tid in tenants
    ]
    verdicts.sort(key=lambda v: (not v.breached, -(v.figures.p95 or 0)))
    return verdicts


def tenant_daily_report(*, tenant, month: datetime) -> list[dict]:
    """One row per day of `month` (operator data: read across the RLS boundary, logged)."""
    end = (month + timedelta(days=32)).replace(day=1)
    days: dict[datetime, SlaFigures] = {}
    with dangerously_unscoped(f"SLA monthly report of tenant {tenant.pk}"):
        rows = SlaRollup.unscoped.filter(
            tenant_id=tenant.pk, period="d", start__gte=month, start__lt=end
        ).order_by("start")
        for row in rows:
            days.setdefault(row.start, SlaFigures()).add(row)
    return [
        {
            "day": start.date().isoformat(),
            "requests": f.count,
            "errors": f.errors,
            "availability_pct": f.availability,
            "p50_ms": f.p50,
            "p95_ms": f.p95,
            "p99_ms": f.p99,
        }
        for start, f in days.items()
    ]


def tenant_series_unscoped(*, tenant, period: str, since: datetime) -> list[dict]:
    """The operator's view of one tenant's latency series (logged bypass)."""
    with dangerously_unscoped(f"SLA chart of tenant {tenant.pk}"):
        rows = SlaRollup.unscoped.filter(tenant_id=tenant.pk, period=period, start__gte=since)
        return _series(rows)


def tenant_slow_statements_unscoped(*, tenant, limit: int = 50) -> list[SlowStatement]:
    """The operator's view of one tenant's latest slow statements (logged bypass)."""
    with dangerously_unscoped(f"slow statements of tenant {tenant.pk}"):
        return list(SlowStatement.unscoped.filter(tenant_id=tenant.pk).order_by("-at")[:limit])
