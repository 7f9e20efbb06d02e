"""Payment provider references are operator-only (Invoice.external_payment_reference): drop the
copies earlier code wrote into tenants' audit logs (`invoice.paid`), in every placement.

Run as the owner past row-level security (tenants.rls.sql.as_owner_past_rls).
"""

from django.db import migrations

from tenants.rls.sql import as_owner_past_rls

SCRUB = as_owner_past_rls(
    "audit_auditevent",
    [
        "UPDATE audit_auditevent SET data = data - 'reference' "
        "WHERE action = 'invoice.paid' AND data ? 'reference'",
    ],
)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_scrub_operator_reasons")]

    operations = [
        migrations.RunSQL(SCRUB, reverse_sql=migrations.RunSQL.noop, hints={"tenant_placed": True})
    ]
