"""Stored first responses of API writes, keyed by the client's Idempotency-Key."""

from django.db import models

from tenants.models import TenantModel, tenant_id_field


class IdempotencyRecord(TenantModel):
    # Replay records live 24 h and hold response bodies: neither exported nor backed up.
    export_fields = ()
    in_operator_backup = False

    # The unique (tenant_id, credential, key) index serves every tenant lookup.
    tenant_id = tenant_id_field(db_index=False)
    # Who may replay it: "token:<key_id>" (or "user:<id>"); two clients of one tenant never collide.
    credential = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    # The request the key was first used for: another request with the key is refused (422).
    method = models.CharField(max_length=10)
    path = models.TextField()
    body_sha256 = models.CharField(max_length=64)
    # The response to replay; written in the same transaction as the write itself.
    status_code = models.PositiveSmallIntegerField(null=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "credential", "key"], name="idempotency_tenant_cred_key"
            )
        ]
        indexes = [models.Index(fields=["tenant_id", "expires_at"], name="idempotency_expiry")]
