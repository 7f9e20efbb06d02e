"""public.saas_usage_members(): the one rule for a tenant's seats (accounts.usage, billing.limits).

Installed in every placement database's public schema (a tenant schema's run skips it: its
requests use the main database's public functions, whose unqualified table names resolve
through the transaction's search_path to the tenant's schema).
"""

from django.db import migrations

# Members are active users plus pending invitations (neither accepted, revoked nor
# expired). plpgsql: the body is planned at the first call per search_path, so one
# function serves every tenant schema. The explicit tenant filter lets the planner use
# the tenant's index; RLS applies too (SECURITY INVOKER).
SQL = """
DO $usage$
BEGIN
IF current_schema() <> 'public' THEN
    RETURN;
END IF;
CREATE OR REPLACE FUNCTION public.saas_usage_members(p_tenant uuid)
RETURNS bigint LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN (SELECT count(*) FROM accounts_user u WHERE u.tenant_id = p_tenant AND u.is_active)
         + (SELECT count(*) FROM accounts_invitation i
             WHERE i.tenant_id = p_tenant AND i.accepted_at IS NULL
               AND i.revoked_at IS NULL AND i.expires_at > pg_catalog.clock_timestamp());
END $fn$;
END $usage$;
"""
REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN "
    "DROP FUNCTION IF EXISTS public.saas_usage_members(uuid); END IF; END $$"
)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_token_notify")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": True})]
