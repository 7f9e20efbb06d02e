from django.db import migrations

from tenants.rls.operations import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_job_refused")]

    operations = [EnableTenantRLS("jobs.Job")]
