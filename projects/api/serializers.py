"""Input/output shapes of projects and tasks. Ids, tenant, creator and timestamps are read-only."""

from rest_framework import serializers

from accounts.models import User
from projects.models import Project, Task


class ProjectSerializer(serializers.ModelSerializer):
    created_by = serializers.UUIDField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]


class _TenantUserField(serializers.PrimaryKeyRelatedField):
    """A member of the request's tenant; anyone else 'does not exist' (RLS and the manager)."""

    def get_queryset(self):
        return User.objects.filter(tenant_id=self.context["request"].tenant.pk)


class TaskSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id", read_only=True)
    assignee = _TenantUserField(required=False, allow_null=True, pk_field=serializers.UUIDField())

    class Meta:
        model = Task
        fields = [
            "id",
            "project",
            "title",
            "status",
            "assignee",
            "due_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "project", "created_at", "updated_at"]
