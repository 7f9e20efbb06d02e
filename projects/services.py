"""Writes to projects and tasks: each is one transaction with an audit row.

`actor` is whoever acts now (a member, the API client of a token, an operator's label), as
the caller's authenticated principal: the audit names it. `created_by` is the member who
owns the new row, which an operator's token does not have; the two are never inferred
from each other.
"""

from __future__ import annotations

from audit.services import audit_record
from billing.limits import limit_check
from projects.models import Project, Task
from tenants.transactions import tenant_atomic
from webhooks.events import event_record, project_data, task_data


@tenant_atomic
def project_create(
    *, tenant, actor=None, created_by=None, name: str, description: str = ""
) -> Project:
    limit_check(tenant=tenant, limit="max_projects")
    project = Project.objects.create(
        tenant_id=tenant.pk, name=name, description=description, created_by=created_by
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="project.create",
        target=project,
        data={"name": name},
    )
    event_record(tenant=tenant, type="project.created", data=project_data(project))
    return project


PROJECT_EDITABLE = {"name", "description"}


def _apply_changes(
    *, tenant, instance, editable: set[str], actor, action: str, changes: dict, event=None
):
    """Set the allowed fields, save only those, audit the change: one rule for every update."""
    for field, value in changes.items():
        if field not in editable:
            raise ValueError(f"{field} cannot be changed")
        setattr(instance, field, value)
    instance.save(update_fields=[*changes.keys(), "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action=action,
        target=instance,
        data={k: str(getattr(v, "pk", v)) for k, v in changes.items()},
    )
    if event is not None:
        type_, describe = event
        event_record(
            tenant=tenant,
            type=type_,
            data={**describe(instance), "changed": sorted(changes)},
        )
    return instance


@tenant_atomic
def project_update(*, tenant, project: Project, actor=None, **changes) -> Project:
    return _apply_changes(
        tenant=tenant,
        instance=project,
        editable=PROJECT_EDITABLE,
        actor=actor,
        action="project.update",
        changes=changes,
        event=("project.updated", project_data),
    )


@tenant_atomic
def project_delete(*, tenant, project: Project, actor=None) -> None:
    audit_record(
        tenant=tenant,
        actor=actor,
        action="project.delete",
        target=project,
        data={"name": project.name},
    )
    event_record(
        tenant=tenant, type="project.deleted", data={"id": project.pk, "name": project.name}
    )
    project.delete()


@tenant_atomic
def task_create(*, tenant, project: Project, title: str, actor=None, **fields) -> Task:
    limit_check(tenant=tenant, limit="max_tasks_per_project", parent=project)
    task = Task.objects.create(tenant_id=tenant.pk, project=project, title=title, **fields)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="task.create",
        target=task,
        data={"title": title, "project": str(project.pk)},
    )
    event_record(tenant=tenant, type="task.created", data=task_data(task))
    return task


TASK_EDITABLE = {"title", "status", "assignee", "due_date"}


@tenant_atomic
def task_update(*, tenant, task: Task, actor=None, **changes) -> Task:
    return _apply_changes(
        tenant=tenant,
        instance=task,
        editable=TASK_EDITABLE,
        actor=actor,
        action="task.update",
        changes=changes,
        event=("task.updated", task_data),
    )


@tenant_atomic
def task_delete(*, tenant, task: Task, actor=None) -> None:
    audit_record(
        tenant=tenant,
        actor=actor,
        action="task.delete",
        target=task,
        data={"title": task.title, "project": str(task.project_id)},
    )
    event_record(
        tenant=tenant,
        type="task.deleted",
        data={"id": task.pk, "project": task.project_id, "title": task.title},
    )
    task.delete()
