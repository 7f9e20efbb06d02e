"""The placement fence table and saas_enter_tenant() (tenants/sql/enter_tenant.sql).

Runs in every placement database (tenant_placed hint); the SQL itself skips
tenant schemas, whose requests use the main database's public objects.
"""

from django.db import migrations

from tenants.migrations._enter_sql import SQL

REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN "
    "DROP FUNCTION IF EXISTS public.saas_enter_tenant(text, text, text, integer); "
    "DROP FUNCTION IF EXISTS public.saas_enter_tenant"
    "(text, text, text, integer, integer, integer, text); "
    "DROP TABLE IF EXISTS public.tenants_fence; END IF; END $$"
)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_drop_clone_schema")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": True})]
