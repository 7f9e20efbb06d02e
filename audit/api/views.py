"""The audit log over the API: read-only, admin scope, plan feature `audit_log`, cursor pages."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from accounts.models import TokenScope
from api.pagination import CursorPagination
from api.views import ApiViewMixin
from audit.api.filters import AuditEventFilter
from audit.api.serializers import AuditEventSerializer
from audit.selectors import audit_event_list
from billing.limits import feature_require


@extend_schema_view(
    list=extend_schema(summary="List audit events (newest first, cursor pages)", tags=["audit"])
)
class AuditEventViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventSerializer
    required_scope = TokenScope.ADMIN
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter
    ordering = ["-created_at"]

    def check_permissions(self, request):
        super().check_permissions(request)
        # The same plan gate as the audit page (403 feature_not_in_plan).
        feature_require(tenant=request.tenant, feature="audit_log")

    def tenant_queryset(self):
        return audit_event_list(tenant=self.request.tenant)
