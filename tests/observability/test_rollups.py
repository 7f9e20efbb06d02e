"""Batched flushes add up, roll-ups sum histograms exactly, retention drops old rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from observability import recorder as recorder_module
from observability.models import LATENCY_BOUNDS_MS, SlaRollup
from observability.recorder import Recorder, write_rows
from observability.rollups import sla_rollup
from observability.selectors import percentile_ms, tenant_sla_figures
from tenants.context import dangerously_unscoped, tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory

N = len(LATENCY_BOUNDS_MS) + 1


def _rows(tenant, **filters):
    with dangerously_unscoped("test: SLA rows"):
        return list(SlaRollup.unscoped.filter(tenant_id=tenant.pk, **filters).order_by("start"))


def _minute(dt: datetime) -> int:
    return int(dt.timestamp()) // 60


def test_percentiles_interpolate_within_buckets():
    buckets = [0] * N
    buckets[LATENCY_BOUNDS_MS.index(100)] = 100  # all between 50 and 100 ms
    assert percentile_ms(buckets, 0.5) == 75.0
    assert percentile_ms(buckets, 0.95) == 97.5
    assert percentile_ms([0] * N, 0.95) is None


def test_flushes_of_two_processes_for_the_same_minute_add_up(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("flush"))
    first, second = Recorder(flush_seconds=0), Recorder(flush_seconds=0)
    for ms in (3, 40, 40, 700):
        first.record(tenant.id.hex, "api", 200, ms)
    second.record(tenant.id.hex, "api", 503, 12000)
    assert first.flush() == 1 and second.flush() == 1
    (row,) = _rows(tenant)
    assert (row.period, row.count, row.errors) == ("m", 5, 1)
    assert row.buckets[0] == 1 and row.buckets[LATENCY_BOUNDS_MS.index(50)] == 2
    assert row.buckets[-1] == 1 and sum(row.buckets) == 5
    assert row.duration_ms_sum == pytest.approx(3 + 40 + 40 + 700 + 12000)


def test_a_failed_flush_keeps_its_rows_for_the_next(committed_db, monkeypatch):
    tenant = TenantFactory(subdomain=unique_subdomain("retry"))
    rec = Recorder(flush_seconds=0)
    rec.record(tenant.id.hex, "web", 200, 20)

    def down(rows):
        raise OSError("database down")

    monkeypatch.setattr(recorder_module, "write_rows", down)
    assert rec.flush() == 0
    rec.record(tenant.id.hex, "web", 200, 20)
    monkeypatch.undo()
    assert rec.flush() == 1
    assert [r.count for r in _rows(tenant)] == [2]


def test_rollup_sums_minutes_into_hours_and_days_and_prunes(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("roll"))
    now = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    hist = [1] * N
    write_rows(
        {
            (tenant.id.hex, "api", _minute(now - timedelta(minutes=20))): [N, 1, 50.0, *hist],
            (tenant.id.hex, "api", _minute(now - timedelta(minutes=5))): [N, 0, 70.0, *hist],
            (tenant.id.hex, "api", _minute(now - timedelta(days=3))): [N, 0, 1.0, *hist],
        }
    )
    sla_rollup(now=now)
    hours = _rows(tenant, period="h")
    assert [(h.start, h.count, h.errors, h.buckets) for h in hours] == [
        (datetime(2026, 11, 30, 10, tzinfo=UTC), 2 * N, 1, [2] * N)
    ]
    (day,) = _rows(tenant, period="d")
    assert (day.start, day.count, day.duration_ms_sum) == (
        datetime(2026, 11, 30, tzinfo=UTC),
        2 * N,
        120.0,
    )
    # Idempotent; the 3-day-old minute row is past the 48 h retention.
    sla_rollup(now=now)
    assert [r.count for r in _rows(tenant, period="h")] == [2 * N]
    assert len(_rows(tenant, period="m")) == 2


def test_month_figures_count_each_request_once_across_resolutions(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("window"))
    now = datetime.now(UTC)
    write_rows(
        {
            (tenant.id.hex, "api", _minute(now - timedelta(minutes=1))): [3, 0, 9.0, 3]
            + [0] * (N - 1)
        }
    )
    sla_rollup(now=now)  # the same requests now also exist as hour and day rows
    with tenant_scope(tenant):
        figures = tenant_sla_figures(tenant=tenant, since=now - timedelta(days=2), until=now)
    assert (figures.count, figures.availability) == (3, 100.0)
