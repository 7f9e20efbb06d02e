"""Jobs name their requester by user id: a member's email address never sits in the global
job table (docs/residency.md). Earlier rows that hold a member's address are scrubbed to
"member" (the address lives in the tenant's placement; it cannot be mapped back here),
and earlier status lines lose any address.

Run as the owner past row-level security (tenants.rls.sql.as_owner_past_rls).
"""

from django.db import migrations, models

from tenants.rls.sql import as_owner_past_rls

SCRUB = as_owner_past_rls(
    "jobs_job",
    [
        # Operators' console identities are platform staff, kept; anything else with an @ was a
        # tenant member's address.
        "UPDATE jobs_job SET requested_by = 'member' WHERE requested_by LIKE '%@%' "
        "AND requested_by NOT IN (SELECT email FROM operators_operator)",
        "UPDATE jobs_job SET message = "
        "regexp_replace(message, '[^[:space:]@]+@[^[:space:]@]+', '<address>', 'g') "
        "WHERE message LIKE '%@%'",
    ],
)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0003_job_rls"), ("operators", "0001_ui")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="requester_id",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.RunSQL(
            SCRUB, reverse_sql=migrations.RunSQL.noop, hints={"tenant_placed": False}
        ),
    ]
