"""saas_enter_tenant() looks its fence up before it changes the search_path.

A cached plan (the fence lookup inside the function) is re-planned whenever the
search_path differs from the one it was planned under; a schema tenant's path
differs from the previous transaction's almost every time, which cost ~100 µs per
enter call in schema mode. Re-runs tenants/sql/enter_tenant.sql in every placement
database (same signature: CREATE OR REPLACE).
"""

from django.db import migrations

from tenants.migrations._enter_sql import SQL


class Migration(migrations.Migration):
    dependencies = [("tenants", "0015_server_login")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop, hints={"tenant_placed": True})]
