"""Deleted tenants' subdomains stay reserved for the retention period (control plane)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0008_domains")]

    operations = [
        migrations.CreateModel(
            name="SubdomainReservation",
            fields=[
                ("subdomain", models.CharField(max_length=63, primary_key=True, serialize=False)),
                ("tenant_id", models.UUIDField()),
                ("reserved_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                ("backup_path", models.CharField(blank=True, default="", max_length=500)),
            ],
            options={"ordering": ["subdomain"]},
        ),
    ]
