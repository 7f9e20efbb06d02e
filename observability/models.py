"""Per-tenant SLA measurements: request counts, errors and latency histograms, rolled up."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from tenants.models import TenantOwned, tenant_id_field

# Upper bounds (ms) of the latency histogram buckets; one more bucket counts the rest.
# Shared by the per-tenant rollups and the Prometheus histogram, so both agree.
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class Period(models.TextChoices):
    MINUTE = "m", "minute"
    HOUR = "h", "hour"
    DAY = "d", "day"


class SlaRollup(TenantOwned):
    """One tenant's requests of one route group in one minute, hour or day.

    Tenant-owned (RLS): a tenant admin reads only its own service figures.
    `tenant_placed = False`: kept in the main database whatever the tenant's
    placement, because the writers are fleet-wide (one batched statement per
    flush, through the operator role) and so is the operator's fleet view.
    """

    tenant_placed = False
    # Operator measurements, rebuilt from traffic: not the customer's data, not backed up.
    export_fields = ()
    in_operator_backup = False

    id = models.BigAutoField(primary_key=True)
    # The unique key (tenant_id, …) serves every lookup by tenant.
    tenant_id = tenant_id_field(db_index=False)
    period = models.CharField(max_length=1, choices=Period.choices)
    start = models.DateTimeField()
    route_group = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    duration_ms_sum = models.FloatField(default=0)
    # len(LATENCY_BOUNDS_MS) + 1 counters, the last one for slower requests.
    buckets = ArrayField(models.BigIntegerField())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "period", "start", "route_group"], name="sla_rollup_key"
            )
        ]
        # The fleet view and the retention job scan one period and time range across tenants.
        indexes = [models.Index(fields=["period", "start"], name="sla_rollup_period_start")]


class SlowStatement(TenantOwned):
    """One statement of a tenant that took at least SLOW_STATEMENT_MS, with where it came from.

    The text is normalised before it is stored (literals replaced by `?`, bound
    parameters never included), and only the tenant's own page shows it. Kept in the
    main database for the same reasons as SlaRollup; bounded per tenant (see rollups).
    """

    tenant_placed = False
    export_fields = ()
    in_operator_backup = False

    id = models.BigAutoField(primary_key=True)
    tenant_id = tenant_id_field(db_index=False)
    at = models.DateTimeField()
    duration_ms = models.FloatField()
    statement = models.TextField()
    # URL pattern of the request (or `task:<name>`) and its X-Request-ID, when there was one.
    route = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant_id", "-at"], name="slow_statement_tenant_at")]
