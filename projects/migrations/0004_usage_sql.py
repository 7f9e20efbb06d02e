"""public.saas_usage_projects() and saas_usage_tasks(): the one rule for counting them
(projects.usage, billing.limits).

Installed in every placement database's public schema (a tenant schema's run skips it: its
requests use the main database's public functions, whose unqualified table names resolve
through the transaction's search_path to the tenant's schema).
"""

from django.db import migrations

# plpgsql: the body is planned at the first call per search_path, so one function serves
# every tenant schema. The explicit tenant filter lets the planner use the tenant's index;
# RLS applies too (SECURITY INVOKER). Tasks: within one project, or (NULL) in the tenant's
# fullest project, 0 with none.
SQL = """
DO $usage$
BEGIN
IF current_schema() <> 'public' THEN
    RETURN;
END IF;
CREATE OR REPLACE FUNCTION public.saas_usage_projects(p_tenant uuid)
RETURNS bigint LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN (SELECT count(*) FROM projects_project p WHERE p.tenant_id = p_tenant);
END $fn$;
CREATE OR REPLACE FUNCTION public.saas_usage_tasks(p_tenant uuid, p_project uuid)
RETURNS bigint LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    IF p_project IS NULL THEN
        RETURN coalesce((SELECT count(*) FROM projects_task t WHERE t.tenant_id = p_tenant
                          GROUP BY t.project_id ORDER BY 1 DESC LIMIT 1), 0);
    END IF;
    RETURN (SELECT count(*) FROM projects_task t
             WHERE t.tenant_id = p_tenant AND t.project_id = p_project);
END $fn$;
END $usage$;
"""
REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN "
    "DROP FUNCTION IF EXISTS public.saas_usage_projects(uuid); "
    "DROP FUNCTION IF EXISTS public.saas_usage_tasks(uuid, uuid); END IF; END $$"
)


class Migration(migrations.Migration):
    dependencies = [("projects", "0003_guards_same_tenant_keys")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": True})]
