"""The transactional outbox (tenants.outbox): tenant-owned, RLS, always in the main database."""

import django.db.models.manager
import django.utils.timezone
import tenants.models
import uuid
from django.db import migrations, models

from tenants.rls.operations import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_subdomain_reservation"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                (
                    "tenant_id",
                    models.UUIDField(
                        db_index=True, default=tenants.models._current_tenant_id, editable=False
                    ),
                ),
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("task", models.CharField(max_length=200)),
                ("args", models.JSONField(blank=True, default=list)),
                ("kwargs", models.JSONField(blank=True, default=dict)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("held", "Held (its change commits on another database)"),
                            ("pending", "Pending"),
                            ("published", "Published"),
                            ("done", "Done"),
                            ("refused", "Refused (the organisation is not active)"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("message", models.CharField(blank=True, default="", max_length=500)),
                ("available_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("published_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["created_at"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status__in", ["held", "pending", "published"])),
                        fields=["available_at"],
                        name="outbox_due",
                    )
                ],
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("unscoped", django.db.models.manager.Manager()),
            ],
        ),
        EnableTenantRLS("tenants.OutboxMessage"),
    ]
