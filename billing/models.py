"""Plans (tiers) and the limits they carry. Control plane: not tenant-owned."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class Feature(models.TextChoices):
    API_ACCESS = "api_access", "API access"
    AUDIT_LOG = "audit_log", "Audit log"
    CUSTOM_DOMAIN = "custom_domain", "Custom domain"
    DEDICATED_DATABASE = "dedicated_database", "Dedicated database"


class Plan(models.Model):
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
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    def has_feature(self, feature: str) -> bool:
        return feature in (self.features or [])
