from django.db import migrations

from tenants.rls.operations import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_jobs")]

    operations = [EnableTenantRLS("jobs.Job")]
