"""saas_enter_tenant() takes the tenant's fair-share slot and names the statement's tenant
and request (tenants/sql/enter_tenant.sql, tenants/fair_share.py, tenants/attribution.py).

Re-runs the file in every placement database: it adds the seven-argument function; the
four-argument form of the previous release stays for its processes until they are gone.
"""

from django.db import migrations

from tenants.migrations._enter_sql import SQL

REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN "
    "DROP FUNCTION IF EXISTS public.saas_enter_tenant"
    "(text, text, text, integer, integer, integer, text); "
    "END IF; END $$"
)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0012_tenant_set_plan")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": True})]
