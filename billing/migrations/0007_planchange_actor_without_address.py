"""Plan changes name their actor by id and role word (billing.subscriptions.plan_change_actor):
earlier rows that hold a member's email address, or an operator's, are scrubbed. Billing rows
are global (docs/residency.md); the tenant's audit log, in its placement, names the person.

The table's owner runs migrations and FORCE ROW LEVEL SECURITY binds it too; the policy is
lifted for these statements, inside the migration's transaction.
"""

from django.db import migrations

SCRUB = [
    "ALTER TABLE billing_planchange NO FORCE ROW LEVEL SECURITY",
    "UPDATE billing_planchange SET actor_label = 'operator' "
    "WHERE actor_label LIKE 'operator %'",
    "UPDATE billing_planchange SET actor_label = 'member' WHERE actor_label LIKE '%@%'",
    "ALTER TABLE billing_planchange FORCE ROW LEVEL SECURITY",
]


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_limit_lock")]

    operations = [
        migrations.RunSQL(
            SCRUB, reverse_sql=migrations.RunSQL.noop, hints={"tenant_placed": False}
        ),
    ]
