"""Server-rendered pages for the dashboard, projects and tasks on a tenant host."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import member_required
from billing.limits import PlanLimitExceeded, usage_summary
from billing.views import usage_bars
from projects import services
from projects.models import Project, Task
from projects.selectors import project_list, task_list
from projects.web.forms import ProjectForm, TaskForm


@member_required
def dashboard(request):
    summary = usage_summary(tenant=request.tenant)
    context = {
        "bars": usage_bars(summary),
        "plan_code": summary["plan"],
        "projects": project_list(tenant=request.tenant, user=request.user)[:5],
    }
    return render(request, "projects/dashboard.html", context)


@member_required
def projects(request):
    search = request.GET.get("q", "").strip()
    page = Paginator(project_list(tenant=request.tenant, user=request.user, search=search), 25)
    context = {"page": page.get_page(request.GET.get("page")), "q": search}
    if request.htmx and request.htmx.target == "project-results":
        return render(request, "projects/_project_results.html", context)
    return render(request, "projects/project_list.html", context)


def _limit_message(request, exc: PlanLimitExceeded) -> str:
    if request.user.is_admin:
        return f"{exc} You can change the plan on the Billing page."
    return f"{exc} Ask an owner or admin of your organisation to upgrade the plan."


@member_required
def project_create(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(
                tenant=request.tenant,
                actor=request.user,
                created_by=request.user,
                **form.cleaned_data,
            )
        except PlanLimitExceeded as exc:
            form.add_error(None, _limit_message(request, exc))
        else:
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("project_detail", project_id=project.pk)
    status = 400 if form.errors else 200
    return render(request, "projects/project_form.html", {"form": form}, status=status)


@member_required
def project_detail(request, project_id):
    project = get_object_or_404(Project, tenant_id=request.tenant.pk, pk=project_id)
    form = TaskForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            services.task_create(
                tenant=request.tenant,
                project=project,
                actor=request.user,
                **form.cleaned_data,
            )
        except PlanLimitExceeded as exc:
            form.add_error(None, _limit_message(request, exc))
        else:
            messages.success(request, f"Task “{form.cleaned_data['title']}” added.")
            return redirect("project_detail", project_id=project.pk)
    context = {
        "project": project,
        "tasks": task_list(tenant=request.tenant, project=project).select_related("assignee"),
        "form": form,
    }
    return render(
        request, "projects/project_detail.html", context, status=400 if form.errors else 200
    )


@member_required
def project_edit(request, project_id):
    project = get_object_or_404(Project, tenant_id=request.tenant.pk, pk=project_id)
    initial = {"name": project.name, "description": project.description}
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if v != initial[k]}
        if changes:
            services.project_update(
                tenant=request.tenant, project=project, actor=request.user, **changes
            )
        messages.success(request, "Project saved.")
        return redirect("project_detail", project_id=project.pk)
    return render(
        request,
        "projects/project_form.html",
        {"form": form, "project": project},
        status=400 if form.errors else 200,
    )


@member_required
def project_delete(request, project_id):
    project = get_object_or_404(Project, tenant_id=request.tenant.pk, pk=project_id)
    if request.method == "POST":
        services.project_delete(tenant=request.tenant, project=project, actor=request.user)
        messages.success(request, f"Project “{project.name}” and its tasks were deleted.")
        return redirect("projects")
    return render(request, "projects/confirm_delete.html", {"object": project, "kind": "project"})


@member_required
def task_edit(request, project_id, task_id):
    task = get_object_or_404(Task, tenant_id=request.tenant.pk, project_id=project_id, pk=task_id)
    initial = {
        "title": task.title,
        "status": task.status,
        "assignee": task.assignee,
        "due_date": task.due_date,
    }
    form = TaskForm(request.POST or None, initial=initial, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if v != initial[k]}
        if changes:
            services.task_update(tenant=request.tenant, task=task, actor=request.user, **changes)
        messages.success(request, "Task saved.")
        return redirect("project_detail", project_id=project_id)
    return render(
        request,
        "projects/task_form.html",
        {"form": form, "task": task},
        status=400 if form.errors else 200,
    )


@member_required
@require_http_methods(["GET", "POST"])
def task_delete(request, project_id, task_id):
    task = get_object_or_404(Task, tenant_id=request.tenant.pk, project_id=project_id, pk=task_id)
    if request.method == "GET":
        return render(
            request,
            "confirm.html",
            {
                "base": "base_app.html",
                "nav": "projects",
                "title": f"Delete the task “{task.title}”?",
                "message": "It is deleted for everyone. This cannot be undone.",
                "button": "Delete task",
                "action": request.path,
                "cancel": reverse("project_detail", args=[project_id]),
            },
        )
    services.task_delete(tenant=request.tenant, task=task, actor=request.user)
    messages.success(request, f"Task “{task.title}” deleted.")
    return redirect("project_detail", project_id=project_id)
