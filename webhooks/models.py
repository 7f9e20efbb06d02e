"""Outbound webhooks: endpoints, the events they receive, deliveries and their attempts.

Events are written by the service that makes the change, in its transaction, so they
live where the tenant's rows live (`tenant_placed`). Endpoints, deliveries and attempts
are delivery state: one table each in the main database for every isolation mode (like
the outbox), so the sweep finds due deliveries of the whole fleet with one query.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import models
from django.utils import timezone

from tenants.models import TenantModel, tenant_id_field


class EventType(models.TextChoices):
    PROJECT_CREATED = "project.created", "Project created"
    PROJECT_UPDATED = "project.updated", "Project updated"
    PROJECT_DELETED = "project.deleted", "Project deleted"
    TASK_CREATED = "task.created", "Task created"
    TASK_UPDATED = "task.updated", "Task updated"
    TASK_DELETED = "task.deleted", "Task deleted"
    MEMBER_JOINED = "member.joined", "Member joined"
    MEMBER_REMOVED = "member.removed", "Member removed"
    PLAN_CHANGED = "plan.changed", "Plan changed"
    EXPORT_READY = "export.ready", "Export ready"


class WebhookEndpoint(TenantModel):
    tenant_placed = False
    # A restore over the live tenant keeps these rows (tenants.export.tenant_import): a
    # removed endpoint or a rotated secret is not brought back.
    restore_over_live = False
    # The signing secret never leaves: not in exports (it is not listed), nor in pages after
    # the one that created it, nor in audit entries.
    export_fields = ("url", "description", "events", "is_enabled", "created_at", "updated_at")

    tenant_id = tenant_id_field(db_index=False)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100)
    is_enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    #: Failed attempts since the last success; at WEBHOOKS_DISABLE_AFTER_FAILURES it is disabled.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant_id", "created_at"], name="webhook_ep_tenant_created")
        ]

    def __str__(self) -> str:
        return self.url

    def receives(self, event_type: str) -> bool:
        return self.is_enabled and event_type in (self.events or [])

    @property
    def host(self) -> str:
        # Audit entries and logs name the host only: a URL's path or query may hold a token.
        return urlsplit(self.url).hostname or ""

    @property
    def secret_hint(self) -> str:
        return f"whsec_…{self.secret[-4:]}" if self.secret else ""


class WebhookEvent(TenantModel):
    """Something that happened, recorded with the change; its payload is what is signed."""

    export_fields = ()
    in_operator_backup = False

    tenant_id = tenant_id_field(db_index=False)
    type = models.CharField(max_length=64, choices=EventType.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant_id", "created_at"], name="webhook_ev_tenant_created")
        ]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(TenantModel):
    """One event to one endpoint: attempted until it succeeds or the schedule runs out."""

    tenant_placed = False
    export_fields = ()
    in_operator_backup = False

    tenant_id = tenant_id_field(db_index=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    # The event lives in the tenant's placement (maybe another database): a plain id.
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant_id", "created_at"], name="webhook_dl_tenant_created"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_dl_due"),
        ]


class WebhookAttempt(TenantModel):
    """One HTTP request of a delivery: what the receiver answered (body truncated)."""

    tenant_placed = False
    export_fields = ()
    in_operator_backup = False

    tenant_id = tenant_id_field(db_index=False)
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", db_constraint=False
    )
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=1000, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["tenant_id", "delivery", "number"], name="webhook_at_tenant_dl")
        ]
        ordering = ["number"]
