"""saas_limit_check() plans its own statements under one search_path, not the tenant's.

PostgreSQL re-plans a cached plan whenever the search_path differs from the one it was
planned under, and plpgsql caches a plan for every statement of a function. The limit
check runs after the enter call set a schema tenant's path, so with tenants taking turns on
a connection its statements (the plan lock, the plan read and saas_plan_limit()'s join)
were re-planned on almost every call: backend CPU of `BEGIN; enter; limit check` over 50
schema tenants in turn 432-448 µs against 241-252 µs for one schema or for shared tenants.
The function now runs with `search_path = pg_catalog, public` (its statements name
everything qualified) and sets the caller's path back, which the caller passes, only for
the usage count: the counting functions resolve the tenant's own tables through it (a
schema tenant's schema). The function's SET clause restores the caller's path on exit.

The five-argument form stays for the previous release's processes until they are gone.
"""

from django.db import migrations

CHECK = """
CREATE OR REPLACE FUNCTION public.saas_limit_check(
    p_tenant uuid, p_limit text, p_plan_key text, p_limit_key text, p_parent uuid,
    p_search_path text,
    OUT plan_id bigint, OUT limit_value bigint, OUT usage bigint
) LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, public AS $fn$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended(p_plan_key, 0));
    SELECT l.plan_id, l.limit_value INTO plan_id, limit_value
      FROM public.saas_plan_limit(p_tenant, p_limit) l;
    IF limit_value IS NOT NULL THEN
        PERFORM pg_catalog.set_config('search_path', p_search_path, true);
        usage := public.saas_limit_usage(p_tenant, p_limit, NULL, p_limit_key, p_parent);
    END IF;
END $fn$;
"""
CHECK_REVERSE = (
    "DROP FUNCTION IF EXISTS public.saas_limit_check(uuid, text, text, text, uuid, text)"
)


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_drop_redundant_indexes")]

    operations = [
        migrations.RunSQL(CHECK, CHECK_REVERSE, hints={"tenant_placed": False}),
    ]
