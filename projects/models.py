"""Projects and their tasks: the tenant-owned product data."""

from django.conf import settings
from django.db import models

from tenants.models import TenantModel, tenant_id_field


class Project(TenantModel):
    export_fields = ("name", "description", "created_by", "created_at", "updated_at")
    # (tenant_id, created_at) serves every tenant lookup; see tenant_id_field.
    tenant_id = tenant_id_field(db_index=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # Keys between tenant tables are the same-tenant composite ones only
    # (AddSameTenantForeignKey in the migrations), hence db_constraint=False.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["tenant_id", "created_at"], name="project_tenant_created")]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    DOING = "doing", "In progress"
    DONE = "done", "Done"


class Task(TenantModel):
    export_fields = (
        "project",
        "title",
        "status",
        "assignee",
        "due_date",
        "created_at",
        "updated_at",
    )
    # (tenant_id, project) serves every tenant lookup; see tenant_id_field.
    tenant_id = tenant_id_field(db_index=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="tasks", db_constraint=False
    )
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant_id", "project"], name="task_tenant_project")]

    def __str__(self) -> str:
        return self.title
