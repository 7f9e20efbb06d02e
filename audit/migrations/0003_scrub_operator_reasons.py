"""Suspension reasons are operator-only (Tenant.status_reason): drop the copies earlier code
wrote into tenants' audit logs, in every placement.

The table's owner runs migrations and FORCE ROW LEVEL SECURITY binds it too; the policy is
lifted for this one statement, inside the migration's transaction (the ALTER's lock keeps
every other session out until it is back).
"""

from django.db import migrations

SCRUB = [
    "ALTER TABLE audit_auditevent NO FORCE ROW LEVEL SECURITY",
    "UPDATE audit_auditevent SET data = data - 'reason' "
    "WHERE action IN ('tenant.suspend', 'tenant.reactivate') AND data ? 'reason'",
    "ALTER TABLE audit_auditevent FORCE ROW LEVEL SECURITY",
]


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_tenant_index_via_composite")]

    operations = [
        migrations.RunSQL(SCRUB, reverse_sql=migrations.RunSQL.noop, hints={"tenant_placed": True})
    ]
