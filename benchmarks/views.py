"""Bench-only endpoints: the same DRF list/create with tenancy and without it.

The tenant side goes through the product (TenantMiddleware, tenants.db, RLS,
the project selector and service). The baseline is what a plain Django + DRF
app would do: the stock backend, no middleware, an explicit tenant_id filter,
and the same two rows (project + audit event) written in one transaction.
"""

from django.db import transaction
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditEvent
from projects.models import Project
from projects.selectors import project_list
from projects.services import project_create

PAGE = 10
PLAIN = "plain"


class ProjectOut(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "name", "created_at"]


class ProjectIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class _Bare(APIView):
    # No session/auth lookups on either side: the comparison is tenancy only.
    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]


class TenantProjectsApi(_Bare):
    def get(self, request):
        projects = project_list(tenant=request.tenant)[:PAGE]
        return Response(ProjectOut(projects, many=True).data)

    def post(self, request):
        data = ProjectIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_create(tenant=request.tenant, name=data.validated_data["name"])
        return Response(ProjectOut(project).data, status=201)


class PlainProjectsApi(_Bare):
    def get(self, request, tenant_id):
        projects = Project.unscoped.using(PLAIN).filter(tenant_id=tenant_id)[:PAGE]
        return Response(ProjectOut(projects, many=True).data)

    def post(self, request, tenant_id):
        data = ProjectIn(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["name"]
        with transaction.atomic(using=PLAIN):
            project = Project(tenant_id=tenant_id, name=name)
            project.save(using=PLAIN, force_insert=True)
            AuditEvent(
                tenant_id=tenant_id,
                actor_label="system",
                action="project.create",
                target_type=Project._meta.label,
                target_id=str(project.pk),
                data={"name": name},
            ).save(using=PLAIN, force_insert=True)
        return Response(ProjectOut(project).data, status=201)
