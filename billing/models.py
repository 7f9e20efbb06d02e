"""Plans (control plane) and each tenant's billing records (tenant-owned, always in the main database)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from tenants.models import TenantModel, tenant_id_field


class Feature(models.TextChoices):
    API_ACCESS = "api_access", "API access"
    AUDIT_LOG = "audit_log", "Audit log"
    CUSTOM_DOMAIN = "custom_domain", "Custom domain"
    DEDICATED_DATABASE = "dedicated_database", "Dedicated database"


# What a customer sees of a plan (API, pricing); operators also see the rest.
PLAN_CUSTOMER_FIELDS = [
    "code",
    "name",
    "monthly_price",
    "currency",
    "max_members",
    "max_projects",
    "max_tasks_per_project",
    "api_requests_per_minute",
    "features",
    "sla_p95_ms",
    "sla_availability_pct",
]
PLAN_OPERATOR_FIELDS = [
    *PLAN_CUSTOMER_FIELDS,
    "statement_timeout_ms",
    "max_concurrent_requests",
    "required_isolation",
    "is_public",
]


class Plan(models.Model):
    # Control plane: the app role reads plans; only the operator role writes them.
    app_role_access = "read"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    max_members = models.PositiveIntegerField(null=True, blank=True, help_text="empty = unlimited")
    max_projects = models.PositiveIntegerField(null=True, blank=True)
    max_tasks_per_project = models.PositiveIntegerField(null=True, blank=True)
    api_requests_per_minute = models.PositiveIntegerField(default=60)
    features = models.JSONField(default=list, blank=True)
    # Isolation mode this plan requires ("" = the deployment default).
    required_isolation = models.CharField(max_length=16, blank=True, default="")
    # Per-transaction statement timeout for this plan's tenants (noisy neighbours).
    statement_timeout_ms = models.PositiveIntegerField(default=5000)
    is_public = models.BooleanField(default=True)
    # Service objectives, per calendar month (observability measures them, docs/sla.md):
    # the p95 latency of the organisation's requests, and the share answered without a 5xx.
    sla_p95_ms = models.PositiveIntegerField(default=1000)
    # Requests of one tenant in flight at once, across all web processes (fair share of
    # the workers; empty = no limit). observability.fairness enforces it.
    max_concurrent_requests = models.PositiveIntegerField(null=True, blank=True, default=4)
    sla_availability_pct = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("99.000")
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    def has_feature(self, feature: str) -> bool:
        return feature in (self.features or [])


# --- tenant-owned billing records -----------------------------------------------------------
#
# `tenant_placed = False`: whatever the tenant's isolation mode, these rows stay
# in the main database next to the Plan and Tenant rows they describe (billing
# is control data that operators and fleet jobs read across tenants). They are
# still RLS-protected like every tenant table. Because tenant data (users) may
# live in another database, actors are recorded by value, never as foreign keys.


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"


class Subscription(TenantModel):
    tenant_placed = False
    # A backup is older than the billing in force: a restore over the live tenant keeps it
    # (tenants.export.tenant_import), so no plan change, cancellation or payment is undone.
    restore_over_live = False
    export_fields = (
        "plan",
        "status",
        "current_period_start",
        "current_period_end",
        "trial_ends_at",
        "canceled_at",
        "created_at",
        "updated_at",
    )

    # subscription_one_per_tenant (unique on tenant_id) is the tenant lookup's index.
    tenant_id = tenant_id_field(db_index=False)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id"], name="subscription_one_per_tenant"),
        ]
        indexes = [models.Index(fields=["status", "trial_ends_at"], name="subscription_status")]

    def __str__(self) -> str:
        return f"{self.plan.code} ({self.status})"


class PlanChange(TenantModel):
    tenant_placed = False
    export_fields = ("from_plan", "to_plan", "actor_id", "actor_label", "changed_at")

    from_plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    actor_id = models.UUIDField(null=True, blank=True)
    # A role word ("owner", "operator", "system"), never a name or an address: the row is
    # global (billing.subscriptions.plan_change_actor).
    actor_label = models.CharField(max_length=254, default="system")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at"]
        indexes = [models.Index(fields=["tenant_id", "changed_at"], name="planchange_tenant_at")]


class UsageMetric(models.TextChoices):
    MEMBERS = "members", "Members"
    PROJECTS = "projects", "Projects"
    TASKS = "tasks", "Tasks"


class UsageRecord(TenantModel):
    """A snapshot of one metered quantity for one billing period (upserted by the roll-up)."""

    tenant_placed = False
    export_fields = ("metric", "quantity", "period_start", "period_end", "recorded_at")

    metric = models.CharField(max_length=32, choices=UsageMetric.choices)
    quantity = models.PositiveBigIntegerField(default=0)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period_start", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "metric", "period_start", "period_end"],
                name="usage_unique_per_period",
            ),
        ]


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(TenantModel):
    """An invoice record. Payments happen elsewhere: only their reference is kept, never card data."""

    tenant_placed = False
    # A restore over the live tenant keeps these rows (tenants.export.tenant_import).
    restore_over_live = False
    # The payment provider's reference is the operators' handle, not the customer's.
    export_fields = (
        "number",
        "status",
        "currency",
        "period_start",
        "period_end",
        "tax_rate",
        "subtotal",
        "tax",
        "total",
        "issued_at",
        "paid_at",
        "voided_at",
        "created_at",
    )

    number = models.CharField(max_length=32)
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    currency = models.CharField(max_length=3, default="EUR")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    # A fraction: 0.19 is 19 %.
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0"))
    subtotal = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0"))
    tax = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0"))
    external_payment_reference = models.CharField(max_length=128, blank=True, default="")
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "number"], name="invoice_number_per_tenant"
            ),
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") + models.F("tax")),
                name="invoice_total_is_subtotal_plus_tax",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(TenantModel):
    tenant_placed = False
    export_fields = ("invoice", "description", "quantity", "unit_price", "amount", "position")

    # The same-tenant composite key only (AddSameTenantForeignKey): db_constraint=False.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", db_constraint=False
    )
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    # quantity × unit_price, rounded half-up to the currency's minor unit.
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class PlanLimits(TenantModel):
    """The limits of a tenant's plan as last read fresh, kept where its rows live.

    Only limit checks of a tenant whose rows live outside the main database read it (its
    own database, or a schema in another server's pool; billing.limits): when the row
    equals the plan the resolved tenant carries, the check needs no statement on the main
    database. Any difference sends the check to the main database, which rewrites
    the row. A plan change deletes it under the exclusive plan lock. Derived data: in no
    export and no backup (rebuilt from the plan on the next check).
    """

    export_fields = ()
    in_operator_backup = False

    plan_id = models.BigIntegerField()  # billing_plan lives in the main database only
    max_members = models.PositiveIntegerField(null=True)
    max_projects = models.PositiveIntegerField(null=True)
    max_tasks_per_project = models.PositiveIntegerField(null=True)

    class Meta(TenantModel.Meta):
        db_table = "billing_planlimits"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id"], name="planlimits_one_per_tenant")
        ]
