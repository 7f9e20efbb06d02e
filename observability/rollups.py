"""Minute rows into hour and day rows, and retention (slow statements too): a fleet job."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connections
from django.utils import timezone

from observability import slow_statements
from tenants.context import dangerously_unscoped
from tenants.routers import data_alias

# How long each resolution is kept: minutes for the recent past, hours for the month's
# charts, days for the monthly reports of the past year.
RETENTION = {"m": timedelta(hours=48), "h": timedelta(days=35), "d": timedelta(days=400)}

# Recomputes the target rows from the source rows (idempotent: re-running replaces them).
ROLLUP_SQL = """
WITH src AS (
    SELECT * FROM observability_slarollup
    WHERE period = %(source)s AND start >= %(lo)s AND start < %(hi)s
), totals AS (
    SELECT tenant_id, date_trunc(%(unit)s, start) AS bucket_start, route_group,
           sum(count)::bigint AS count, sum(errors)::bigint AS errors,
           sum(duration_ms_sum) AS duration_ms_sum
    FROM src GROUP BY 1, 2, 3
), per_bucket AS (
    SELECT tenant_id, date_trunc(%(unit)s, start) AS bucket_start, route_group, i,
           sum(v)::bigint AS v
    FROM src, unnest(buckets) WITH ORDINALITY AS u(v, i)
    GROUP BY 1, 2, 3, 4
), histograms AS (
    SELECT tenant_id, bucket_start, route_group, array_agg(v ORDER BY i) AS buckets
    FROM per_bucket GROUP BY 1, 2, 3
)
INSERT INTO observability_slarollup
    (tenant_id, period, start, route_group, count, errors, duration_ms_sum, buckets)
SELECT t.tenant_id, %(target)s, t.bucket_start, t.route_group, t.count, t.errors,
       t.duration_ms_sum, h.buckets
FROM totals t JOIN histograms h USING (tenant_id, bucket_start, route_group)
ON CONFLICT (tenant_id, period, start, route_group) DO UPDATE SET
    count = EXCLUDED.count, errors = EXCLUDED.errors,
    duration_ms_sum = EXCLUDED.duration_ms_sum, buckets = EXCLUDED.buckets
"""


def sla_rollup(*, now: datetime | None = None) -> dict:
    """Recompute the last hours and days from finer rows, and drop rows past retention."""
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    done = {}
    with (
        dangerously_unscoped("SLA rollup: minutes to hours to days, retention"),
        connections[data_alias()].cursor() as cur,
    ):
        cur.execute(
            ROLLUP_SQL,
            {
                "source": "m",
                "target": "h",
                "unit": "hour",
                "lo": hour - timedelta(hours=3),
                "hi": hour + timedelta(hours=1),
            },
        )
        done["hours"] = cur.rowcount
        cur.execute(
            ROLLUP_SQL,
            {
                "source": "h",
                "target": "d",
                "unit": "day",
                "lo": day - timedelta(days=1),
                "hi": day + timedelta(days=1),
            },
        )
        done["days"] = cur.rowcount
        for period, keep in RETENTION.items():
            cur.execute(
                "DELETE FROM observability_slarollup WHERE period = %s AND start < %s",
                [period, now - keep],
            )
            done[f"pruned_{period}"] = cur.rowcount
        done["pruned_slow_statements"] = slow_statements.prune(cur, now=now)
    return done
