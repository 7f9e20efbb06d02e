from django.db import migrations

from tenants.rls.operations import EnableTenantRLS


class Migration(migrations.Migration):
    """Move records carry a tenant_id: under RLS like every such table (operator role only)."""

    dependencies = [("tenants", "0010_outbox_message")]

    operations = [EnableTenantRLS("tenants.TenantMove")]
