"""A tenant in its own database checks its limits there (billing.limits._check_apart).

billing_planlimits (tenant-placed, RLS like every tenant table) keeps the plan's limits as
last read fresh from the main database. saas_limit_confirmed() (every placement database's
public schema) takes the shared plan lock, compares the row with the plan the resolved
tenant carries and, for a finite limit, takes the limit lock and counts: one statement.
saas_plan_limits() (the main database) reads the tenant's plan and all three limits fresh,
for a check the row did not confirm.
"""

import django.db.models.manager
import tenants.models
import uuid
from django.db import migrations, models

from tenants.rls.operations import EnableTenantRLS

# VOLATILE plpgsql: the row is read after the shared plan lock is granted (a plan change
# holding the exclusive side has deleted it and committed by then), the count after the
# exclusive limit lock (saas_limit_usage, migration 0008). The table is named unqualified,
# like the counting functions' tables: it resolves through the transaction's search_path,
# so a schema tenant in a server's pool reads its own schema's row (plpgsql re-plans per
# search_path), the one a plan change deletes and a move carries.
CONFIRMED = """
DO $limits$
BEGIN
IF current_schema() <> 'public' THEN
    RETURN;
END IF;
CREATE OR REPLACE FUNCTION public.saas_limit_confirmed(
    p_tenant uuid, p_limit text, p_plan_key text, p_limit_key text, p_parent uuid,
    p_plan_id bigint, p_members bigint, p_projects bigint, p_tasks bigint,
    OUT confirmed boolean, OUT limit_value bigint, OUT usage bigint
) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended(p_plan_key, 0));
    confirmed := EXISTS (
        SELECT 1 FROM billing_planlimits l
         WHERE l.tenant_id = p_tenant AND l.plan_id = p_plan_id
           AND l.max_members IS NOT DISTINCT FROM p_members
           AND l.max_projects IS NOT DISTINCT FROM p_projects
           AND l.max_tasks_per_project IS NOT DISTINCT FROM p_tasks);
    limit_value := CASE p_limit
        WHEN 'max_members' THEN p_members
        WHEN 'max_projects' THEN p_projects
        WHEN 'max_tasks_per_project' THEN p_tasks
    END;
    IF limit_value IS NOT NULL THEN
        usage := public.saas_limit_usage(p_tenant, p_limit, NULL, p_limit_key, p_parent);
    END IF;
END $fn$;
END $limits$;
"""
CONFIRMED_REVERSE = (
    "DO $$ BEGIN IF current_schema() = 'public' THEN DROP FUNCTION IF EXISTS "
    "public.saas_limit_confirmed(uuid, text, text, text, uuid, bigint, bigint, bigint, bigint); "
    "END IF; END $$"
)

PLAN_LIMITS = """
CREATE OR REPLACE FUNCTION public.saas_plan_limits(
    p_tenant uuid, OUT plan_id bigint, OUT max_members bigint, OUT max_projects bigint,
    OUT max_tasks_per_project bigint
) LANGUAGE sql STABLE AS $fn$
    SELECT p.id, p.max_members, p.max_projects, p.max_tasks_per_project
      FROM public.billing_plan p JOIN public.tenants_tenant t ON t.plan_id = p.id
     WHERE t.id = p_tenant
$fn$;
"""
PLAN_LIMITS_REVERSE = "DROP FUNCTION IF EXISTS public.saas_plan_limits(uuid)"


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0008_limit_check'),
    ]

    operations = [
        migrations.CreateModel(
            name='PlanLimits',
            fields=[
                ('tenant_id', models.UUIDField(db_index=True, default=tenants.models._current_tenant_id, editable=False)),
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('plan_id', models.BigIntegerField()),
                ('max_members', models.PositiveIntegerField(null=True)),
                ('max_projects', models.PositiveIntegerField(null=True)),
                ('max_tasks_per_project', models.PositiveIntegerField(null=True)),
            ],
            options={
                'db_table': 'billing_planlimits',
                'abstract': False,
                'base_manager_name': 'unscoped',
                'constraints': [models.UniqueConstraint(fields=('tenant_id',), name='planlimits_one_per_tenant')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        EnableTenantRLS("billing.PlanLimits"),
        migrations.RunSQL(CONFIRMED, CONFIRMED_REVERSE, hints={"tenant_placed": True}),
        migrations.RunSQL(PLAN_LIMITS, PLAN_LIMITS_REVERSE, hints={"tenant_placed": False}),
    ]
