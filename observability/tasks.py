"""Periodic SLA jobs (fleet tasks: they span tenants)."""

from __future__ import annotations

from tenants.celery import fleet_task


@fleet_task(name="observability.sla_rollup")
def sla_rollup_task():
    from observability.recorder import recorder
    from observability.rollups import sla_rollup

    # A worker measures no requests, but a beat run in a web process may have some pending.
    recorder.flush_all()
    return sla_rollup()
