"""How many projects and tasks a tenant has, for billing (plan limits and usage roll-ups)."""

from __future__ import annotations

from django.db.models import Count

from billing.meters import meter_register
from projects.models import Project, Task


def projects_count(tenant) -> int:
    return Project.objects.filter(tenant_id=tenant.pk).count()


def tasks_count(tenant) -> int:
    return Task.objects.filter(tenant_id=tenant.pk).count()


def tasks_in_project_count(tenant, project) -> int:
    return Task.objects.filter(tenant_id=tenant.pk, project=project).count()


def tasks_in_fullest_project_count(tenant) -> int:
    top = (
        Task.objects.filter(tenant_id=tenant.pk)
        .values("project")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return top["n"] if top else 0


def register() -> None:
    meter_register("projects", count=projects_count)
    meter_register(
        "tasks",
        count=tasks_count,
        count_in=tasks_in_project_count,
        fullest=tasks_in_fullest_project_count,
    )
