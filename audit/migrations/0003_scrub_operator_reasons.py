"""Suspension reasons are operator-only (Tenant.status_reason): drop the copies earlier code
wrote into tenants' audit logs, in every placement.

Run as the owner past row-level security (tenants.rls.sql.as_owner_past_rls).
"""

from django.db import migrations

from tenants.rls.sql import as_owner_past_rls

SCRUB = as_owner_past_rls(
    "audit_auditevent",
    [
        "UPDATE audit_auditevent SET data = data - 'reason' "
        "WHERE action IN ('tenant.suspend', 'tenant.reactivate') AND data ? 'reason'",
    ],
)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_tenant_index_via_composite")]

    operations = [
        migrations.RunSQL(SCRUB, reverse_sql=migrations.RunSQL.noop, hints={"tenant_placed": True})
    ]
