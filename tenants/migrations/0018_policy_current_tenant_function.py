"""Every tenant_isolation policy compares tenant_id with public.saas_current_tenant().

The policies compared it with app.current_tenant in a scalar sub-select (an InitPlan
planned and run per policy in every statement); a STABLE function call is a plain
expression that the planner folds into the explicit tenant filter as a one-time check
(tenants/rls/sql.py says why and what it saves). Same rows, same refusals: the
function returns what the expression did, NULL unless the setting is a uuid.

Runs in every placement (tenant_placed hint): the function in each database's public
schema, then the policies of the schema being migrated (the pooled tables, a tenant's
schema, a tenant database's tables).
"""

from django.db import migrations

from tenants.rls.sql import (
    CURRENT_TENANT,
    CURRENT_TENANT_FUNCTION_SQL,
    ENSURE_CURRENT_TENANT_FUNCTION,
    POLICY_EXPR,
    POLICY_NAME,
    TENANT_COLUMN,
)

_LOOP = """
DO $policies$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_catalog.pg_policy p
             JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
             WHERE p.polname = '{name}'
               AND c.relnamespace = pg_catalog.current_schema()::regnamespace
    LOOP
        EXECUTE pg_catalog.format('ALTER POLICY {name} ON %s USING (%s) WITH CHECK (%s)',
                                  r.rel, $expr${expr}$expr$, $expr${expr}$expr$);
    END LOOP;
END
$policies$
"""

FORWARD = [
    "DO $public$ BEGIN IF pg_catalog.current_schema() = 'public' THEN "
    f"EXECUTE $fn${CURRENT_TENANT_FUNCTION_SQL}$fn$; END IF; END $public$",
    ENSURE_CURRENT_TENANT_FUNCTION,
    _LOOP.format(name=POLICY_NAME, expr=POLICY_EXPR),
]
BACKWARD = _LOOP.format(name=POLICY_NAME, expr=f"{TENANT_COLUMN} = (SELECT {CURRENT_TENANT})")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0017_enter_tenant_search_path_last")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD, hints={"tenant_placed": True})]
