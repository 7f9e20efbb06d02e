"""The placement fence table and saas_enter_tenant() (tenants/sql/enter_tenant.sql).

Runs in every placement database (tenant_placed hint); the SQL itself skips
tenant schemas, whose requests use the main database's public objects.
"""

from pathlib import Path

from django.db import migrations

from tenants.database_config import APP_ROLE, OPERATOR_ROLE
from tenants.rls.sql import POLICY_EXPR

SQL = (
    (Path(__file__).resolve().parent.parent / "sql" / "enter_tenant.sql")
    .read_text()
    .replace("__POLICY__", POLICY_EXPR)
    .replace("__APP__", '"' + APP_ROLE + '"')
    .replace("__OPERATOR__", '"' + OPERATOR_ROLE + '"')
)

REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN "
    "DROP FUNCTION IF EXISTS public.saas_enter_tenant(text, text, text, integer); "
    "DROP FUNCTION IF EXISTS public.saas_enter_tenant(text, text, text, integer, integer, integer); "
    "DROP TABLE IF EXISTS public.tenants_fence; END IF; END $$"
)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_drop_clone_schema")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": True})]
