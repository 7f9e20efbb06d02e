"""One round trip for a limit check: locks, the fresh plan and the usage count (billing.limits).

saas_limit_usage() (every placement database's public schema) takes the per-limit lock
and counts; saas_plan_limit() (the main database, where the plan lives) reads the plan's
value of a limit; saas_limit_check() (the main database) takes the plan lock, reads the
plan and, for a finite limit, calls saas_limit_usage(). The previous release's
saas_limit_lock() stays for its processes until they are gone.
"""

from django.db import migrations

# VOLATILE plpgsql: each statement inside takes a fresh snapshot (READ COMMITTED), so the
# plan is read after the shared plan lock is granted (a plan change holding the exclusive
# side has committed by then), and the count runs after the exclusive per-limit lock is
# granted (the creation that held it has committed its row). Which table each limit
# counts is fixed here, by the owning app's saas_usage_<resource>() (accounts, projects
# migrations): no SQL is built from the arguments. Unqualified table names in those
# functions resolve through the transaction's search_path: a schema tenant's own tables.
USAGE = """
DO $limits$
BEGIN
IF current_schema() <> 'public' THEN
    RETURN;
END IF;
CREATE OR REPLACE FUNCTION public.saas_limit_usage(
    p_tenant uuid, p_limit text, p_plan_key text, p_limit_key text, p_parent uuid
) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    IF p_plan_key IS NOT NULL THEN
        PERFORM pg_catalog.pg_advisory_xact_lock_shared(
            pg_catalog.hashtextextended(p_plan_key, 0));
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_limit_key, 0));
    CASE p_limit
        WHEN 'max_members' THEN RETURN public.saas_usage_members(p_tenant);
        WHEN 'max_projects' THEN RETURN public.saas_usage_projects(p_tenant);
        WHEN 'max_tasks_per_project' THEN RETURN public.saas_usage_tasks(p_tenant, p_parent);
        ELSE RAISE EXCEPTION 'unknown limit %', p_limit USING ERRCODE = '22023';
    END CASE;
END $fn$;
END $limits$;
"""
USAGE_REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN "
    "DROP FUNCTION IF EXISTS public.saas_limit_usage(uuid, text, text, text, uuid); "
    "END IF; END $$"
)

# The tenant's plan and its value of one limit, read fresh (main database). plan_id NULL:
# the tenant has no plan row; limit_value NULL: unlimited.
PLAN_LIMIT = """
CREATE OR REPLACE FUNCTION public.saas_plan_limit(
    p_tenant uuid, p_limit text, OUT plan_id bigint, OUT limit_value bigint
) LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    SELECT p.id,
           CASE p_limit
               WHEN 'max_members' THEN p.max_members
               WHEN 'max_projects' THEN p.max_projects
               WHEN 'max_tasks_per_project' THEN p.max_tasks_per_project
           END
      INTO plan_id, limit_value
      FROM public.billing_plan p JOIN public.tenants_tenant t ON t.plan_id = p.id
     WHERE t.id = p_tenant;
END $fn$;
"""
PLAN_LIMIT_REVERSE = "DROP FUNCTION IF EXISTS public.saas_plan_limit(uuid, text)"

# Where the plan and the rows share a database: the whole check. An unlimited plan
# locks nothing beyond the shared plan lock and counts nothing (usage NULL).
CHECK = """
CREATE OR REPLACE FUNCTION public.saas_limit_check(
    p_tenant uuid, p_limit text, p_plan_key text, p_limit_key text, p_parent uuid,
    OUT plan_id bigint, OUT limit_value bigint, OUT usage bigint
) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended(p_plan_key, 0));
    SELECT l.plan_id, l.limit_value INTO plan_id, limit_value
      FROM public.saas_plan_limit(p_tenant, p_limit) l;
    IF limit_value IS NOT NULL THEN
        usage := public.saas_limit_usage(p_tenant, p_limit, NULL, p_limit_key, p_parent);
    END IF;
END $fn$;
"""
CHECK_REVERSE = "DROP FUNCTION IF EXISTS public.saas_limit_check(uuid, text, text, text, uuid)"


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_planchange_actor_without_address")]

    operations = [
        migrations.RunSQL(USAGE, USAGE_REVERSE, hints={"tenant_placed": True}),
        migrations.RunSQL(PLAN_LIMIT, PLAN_LIMIT_REVERSE, hints={"tenant_placed": False}),
        migrations.RunSQL(CHECK, CHECK_REVERSE, hints={"tenant_placed": False}),
    ]
