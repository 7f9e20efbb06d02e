from django.db import migrations

from tenants.database_config import APP_ROLE
from tenants.rls.sql import CURRENT_TENANT, qn

# The one registry write the app role may make, and only for the tenant in its
# context: a plan change commits in the same transaction as the subscription,
# the PlanChange row and the plan lock (billing.subscriptions), while the table
# itself stays read-only for the app role.
FORWARDS = f"""
CREATE OR REPLACE FUNCTION public.saas_tenant_set_plan(p_plan bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    changed integer;
BEGIN
    UPDATE public.tenants_tenant SET plan_id = p_plan, updated_at = now()
    WHERE id = ({CURRENT_TENANT});
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END $$;
REVOKE ALL ON FUNCTION public.saas_tenant_set_plan(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.saas_tenant_set_plan(bigint) TO {qn(APP_ROLE)};
"""
BACKWARDS = "DROP FUNCTION IF EXISTS public.saas_tenant_set_plan(bigint)"


class Migration(migrations.Migration):
    dependencies = [("tenants", "0011_rls_tenantmove")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS)]
