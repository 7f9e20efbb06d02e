"""Operator fleet tasks."""

from __future__ import annotations

from tenants.celery import fleet_task


@fleet_task(name="operators.sla_breaches")
def sla_breaches():
    from operators.services import sla_breaches_flag

    return {"flagged": len(sla_breaches_flag())}
