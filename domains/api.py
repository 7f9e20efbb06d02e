"""Custom domains over the API: /api/v1/domains/ (admin scope)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import TokenScope
from api.filters import UUID_RE
from api.views import ApiViewMixin
from domains import services
from tenants.domains import challenge_name
from tenants.models import Domain


class DomainSerializer(serializers.ModelSerializer):
    verified = serializers.BooleanField(source="is_verified", read_only=True)
    txt_record = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = ["id", "domain", "verified", "verified_at", "txt_record", "created_at"]
        read_only_fields = fields

    def get_txt_record(self, obj) -> dict:
        return {"name": challenge_name(obj.domain), "value": obj.token}


class DomainCreateSerializer(serializers.Serializer):
    domain = serializers.CharField(max_length=253)


@extend_schema_view(
    list=extend_schema(summary="List custom domains", tags=["domains"]),
    retrieve=extend_schema(summary="Get a custom domain", tags=["domains"]),
    create=extend_schema(
        summary="Add a custom domain (then publish its TXT record and verify)",
        tags=["domains"],
        request=DomainCreateSerializer,
    ),
    destroy=extend_schema(summary="Remove a custom domain", tags=["domains"]),
    verify=extend_schema(summary="Verify ownership (TXT record)", tags=["domains"], request=None),
)
class DomainViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DomainSerializer
    required_scope = TokenScope.ADMIN
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Domain.objects.none()
        return services.domain_list(tenant=self.request.tenant)

    def create(self, request, *args, **kwargs):
        data = DomainCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.domain_add(
            tenant=request.tenant, name=data.validated_data["domain"], actor=request.user
        )
        return Response(DomainSerializer(row).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.domain_remove(tenant=request.tenant, domain=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def verify(self, request, *args, **kwargs):
        row = services.domain_verify(
            tenant=request.tenant, domain=self.get_object(), actor=request.user
        )
        return Response(DomainSerializer(row).data)
