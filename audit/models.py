"""The audit log: who did what, when, in one tenant."""

from django.db import models

from tenants.models import TenantModel, tenant_id_field


class AuditEvent(TenantModel):
    export_fields = (
        "actor_id",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "data",
        "created_at",
    )
    # (tenant_id, created_at) serves every tenant lookup; see tenant_id_field.
    tenant_id = tenant_id_field(db_index=False)
    # The actor is recorded by value: users can be deleted, the record stays.
    actor_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, default="system")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant_id", "created_at"], name="audit_tenant_created")]
