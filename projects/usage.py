"""How many projects and tasks a tenant has, for billing (plan limits and usage roll-ups).

The counting rules are SQL (projects/migrations/0004_usage_sql.py), so the limit check can
count under its lock in the statement that takes it.
"""

from __future__ import annotations

from billing.meters import meter_register, usage_sql
from projects.models import Task


def projects_count(tenant) -> int:
    return usage_sql(tenant, "SELECT public.saas_usage_projects(%s)", [tenant.pk])


def tasks_count(tenant) -> int:
    # Every task of the tenant (the roll-up's figure): no limit bounds it, so the ORM.
    return Task.objects.filter(tenant_id=tenant.pk).count()


def tasks_in_project_count(tenant, project) -> int:
    return usage_sql(tenant, "SELECT public.saas_usage_tasks(%s, %s)", [tenant.pk, project.pk])


def tasks_in_fullest_project_count(tenant) -> int:
    return usage_sql(tenant, "SELECT public.saas_usage_tasks(%s, NULL)", [tenant.pk])


def register() -> None:
    meter_register("projects", count=projects_count)
    meter_register(
        "tasks",
        count=tasks_count,
        count_in=tasks_in_project_count,
        fullest=tasks_in_fullest_project_count,
    )
