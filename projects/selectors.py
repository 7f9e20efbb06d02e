"""Reads of projects and tasks. Each names its tenant, though RLS also filters."""

from django.db.models import QuerySet

from projects.models import Project, Task


def project_list(*, tenant, user=None, search: str | None = None) -> QuerySet[Project]:
    qs = Project.objects.filter(tenant_id=tenant.pk)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def project_get(*, tenant, project_id, for_update: bool = False) -> Project:
    qs = Project.objects.filter(tenant_id=tenant.pk)
    return (qs.select_for_update() if for_update else qs).get(pk=project_id)


def task_list(*, tenant, project) -> QuerySet[Task]:
    return Task.objects.filter(tenant_id=tenant.pk, project=project)


def task_get(*, tenant, project, task_id, for_update: bool = False) -> Task:
    qs = Task.objects.filter(tenant_id=tenant.pk, project=project)
    return (qs.select_for_update() if for_update else qs).get(pk=task_id)
