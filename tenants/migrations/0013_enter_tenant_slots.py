"""saas_enter_tenant() also takes the tenant's fair-share slot (tenants/sql/enter_tenant.sql).

Re-runs the file in every placement database: it replaces the four-argument
function with one that also takes (slots, wait_ms), both defaulting to 0 (off),
so a caller of the old form keeps working. Reversing leaves it in place.
"""

from importlib import import_module

from django.db import migrations

SQL = import_module("tenants.migrations.0006_placement_fence").SQL


class Migration(migrations.Migration):
    dependencies = [("tenants", "0012_tenant_set_plan")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop, hints={"tenant_placed": True})]
