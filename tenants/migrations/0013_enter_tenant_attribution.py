"""saas_enter_tenant() gains the statement attribution argument (tenants/attribution.py).

Re-runs tenants/sql/enter_tenant.sql (idempotent) in every placement database. The
four-argument form stays for processes of the previous release until they are gone.
"""

from django.db import migrations

from tenants.migrations import _enter_sql

REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN "
    "DROP FUNCTION IF EXISTS public.saas_enter_tenant(text, text, text, integer, text); "
    "END IF; END $$"
)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0012_tenant_set_plan")]

    operations = [migrations.RunSQL(_enter_sql.SQL, REVERSE, hints={"tenant_placed": True})]
