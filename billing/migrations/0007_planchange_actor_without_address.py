"""Plan changes name their actor by id and role word (billing.subscriptions.plan_change_actor):
earlier rows that hold a member's email address, or an operator's, are scrubbed. Billing rows
are global (docs/residency.md); the tenant's audit log, in its placement, names the person.

Run as the owner past row-level security (tenants.rls.sql.as_owner_past_rls).
"""

from django.db import migrations

from tenants.rls.sql import as_owner_past_rls

SCRUB = as_owner_past_rls(
    "billing_planchange",
    [
        "UPDATE billing_planchange SET actor_label = 'operator' "
        "WHERE actor_label LIKE 'operator %'",
        "UPDATE billing_planchange SET actor_label = 'member' WHERE actor_label LIKE '%@%'",
    ],
)


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_limit_lock")]

    operations = [
        migrations.RunSQL(
            SCRUB, reverse_sql=migrations.RunSQL.noop, hints={"tenant_placed": False}
        ),
    ]
