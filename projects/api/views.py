"""Projects and their tasks over the API. Views validate, call one service or selector, serialise."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, mixins, status, viewsets
from rest_framework.response import Response

from api.filters import UUID_RE, StableOrderingFilter
from api.views import ApiViewMixin, EtagMixin, check_if_match, etag_for
from projects import selectors, services
from projects.api.filters import ProjectFilter, TaskFilter
from projects.api.serializers import ProjectSerializer, TaskSerializer
from tenants.transactions import tenant_atomic


class _CrudViewSet(
    ApiViewMixin,
    EtagMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Writes go through services; updates and deletes lock the row and honour If-Match."""

    lookup_value_regex = UUID_RE
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, StableOrderingFilter]

    def _written(self, obj, status_code=status.HTTP_200_OK):
        return Response(
            self.get_serializer(obj).data, status=status_code, headers={"ETag": etag_for(obj)}
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with tenant_atomic():
            obj = self.get_object(for_update=True)
            check_if_match(request, obj)
            serializer = self.get_serializer(obj, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            obj = self.perform_service_update(obj, serializer.validated_data)
        return self._written(obj)

    def destroy(self, request, *args, **kwargs):
        with tenant_atomic():
            obj = self.get_object(for_update=True)
            check_if_match(request, obj)
            self.perform_service_delete(obj)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.perform_service_create(serializer.validated_data)
        return self._written(obj, status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List projects", tags=["projects"]),
    retrieve=extend_schema(summary="Get a project (with its ETag)", tags=["projects"]),
    create=extend_schema(summary="Create a project", tags=["projects"]),
    update=extend_schema(summary="Replace a project (If-Match honoured)", tags=["projects"]),
    partial_update=extend_schema(summary="Update a project (If-Match honoured)", tags=["projects"]),
    destroy=extend_schema(summary="Delete a project and its tasks", tags=["projects"]),
)
class ProjectViewSet(_CrudViewSet):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["-created_at", "id"]

    def tenant_queryset(self):
        return selectors.project_list(tenant=self.request.tenant)

    def get_object(self, for_update: bool = False):
        return selectors.project_get(
            tenant=self.request.tenant, project_id=self.kwargs["pk"], for_update=for_update
        )

    def perform_service_create(self, data):
        return services.project_create(
            tenant=self.request.tenant,
            actor=self.request.user,
            created_by=self.request.user.user,
            **data,
        )

    def perform_service_update(self, obj, data):
        return services.project_update(
            tenant=self.request.tenant, project=obj, actor=self.request.user, **data
        )

    def perform_service_delete(self, obj):
        services.project_delete(tenant=self.request.tenant, project=obj, actor=self.request.user)


_project_pk = OpenApiParameter("project_pk", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(summary="List a project's tasks", tags=["tasks"], parameters=[_project_pk]),
    retrieve=extend_schema(summary="Get a task", tags=["tasks"], parameters=[_project_pk]),
    create=extend_schema(summary="Create a task", tags=["tasks"], parameters=[_project_pk]),
    update=extend_schema(summary="Replace a task", tags=["tasks"], parameters=[_project_pk]),
    partial_update=extend_schema(summary="Update a task", tags=["tasks"], parameters=[_project_pk]),
    destroy=extend_schema(summary="Delete a task", tags=["tasks"], parameters=[_project_pk]),
)
class TaskViewSet(_CrudViewSet):
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    search_fields = ["title"]
    ordering_fields = ["title", "status", "due_date", "created_at", "updated_at"]
    ordering = ["created_at", "id"]

    def get_project(self):
        if not hasattr(self, "_project"):
            self._project = selectors.project_get(
                tenant=self.request.tenant, project_id=self.kwargs["project_pk"]
            )
        return self._project

    def tenant_queryset(self):
        return selectors.task_list(tenant=self.request.tenant, project=self.get_project())

    def get_object(self, for_update: bool = False):
        return selectors.task_get(
            tenant=self.request.tenant,
            project=self.get_project(),
            task_id=self.kwargs["pk"],
            for_update=for_update,
        )

    def perform_service_create(self, data):
        return services.task_create(
            tenant=self.request.tenant,
            project=self.get_project(),
            actor=self.request.user,
            **data,
        )

    def perform_service_update(self, obj, data):
        return services.task_update(
            tenant=self.request.tenant, task=obj, actor=self.request.user, **data
        )

    def perform_service_delete(self, obj):
        services.task_delete(tenant=self.request.tenant, task=obj, actor=self.request.user)
