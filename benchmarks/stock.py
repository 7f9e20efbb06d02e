"""The real API's project list and create written the stock Django + DRF way: the baseline
that `api_vs_stock_p50_ratio` compares against.

What a team would write by hand without this product's machinery: the organisation
looked up by its subdomain on every request (no cache), the token looked up through
the ORM with its creator and checked against its hash, the plan read with the
organisation, DRF's own cache-backed throttle (Redis), PageNumberPagination (COUNT +
page), the product's serializer, an explicit tenant filter, and a create that locks,
counts and writes project + audit event in one transaction. Django's stock
PostgreSQL backend, pooled like the product, as the BYPASSRLS role (no RLS).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, generics, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiToken, TokenScope
from audit.models import AuditEvent
from projects.api.serializers import ProjectSerializer
from projects.models import Project
from tenants.models import Tenant

PLAIN = "plain"
PREFIX = "tntr_"


def _tenant(request, subdomain: str):
    if not hasattr(request, "_stock_tenant"):
        tenant = (
            Tenant.objects.using(PLAIN).select_related("plan").filter(subdomain=subdomain).first()
        )
        if tenant is None or tenant.status != "active":
            raise Http404
        request._stock_tenant = tenant
    return request._stock_tenant


class StockTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"bearer":
            raise exceptions.AuthenticationFailed()
        raw = header[1].decode("ascii", "replace")
        key_id, _, secret = raw.removeprefix(PREFIX).partition("_")
        tenant = _tenant(request._request, request.parser_context["kwargs"]["subdomain"])
        token = (
            ApiToken.unscoped.using(PLAIN)
            .select_related("created_by")
            .filter(tenant_id=tenant.pk, key_id=key_id)
            .first()
        )
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if token is None or not hmac.compare_digest(token.secret_hash, digest):
            raise exceptions.AuthenticationFailed()
        if not token.is_usable or not token.creator_is_member:
            raise exceptions.AuthenticationFailed()
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.unscoped.using(PLAIN).filter(pk=token.pk).update(last_used_at=now)
        return (token, token)


class StockPlanPermission(BasePermission):
    def has_permission(self, request, view):
        tenant = _tenant(request._request, view.kwargs["subdomain"])
        needed = TokenScope.READ if request.method == "GET" else TokenScope.WRITE
        return tenant.plan.has_feature("api_access") and request.auth.has_scope(needed)


class StockPlanThrottle(BaseThrottle):
    """A fixed one-minute window in the default cache (Redis): add + incr.

    (DRF's SimpleRateThrottle keeps every request's timestamp in one cache value,
    which at the bench's request rates would make the baseline unfairly slow.)
    """

    def allow_request(self, request, view):
        tenant = _tenant(request._request, view.kwargs["subdomain"])
        key = f"stock-throttle:{request.auth.pk}:{int(time.time() // 60)}"
        cache.add(key, 0, 70)
        return cache.incr(key) <= tenant.plan.api_requests_per_minute


class StockPagination(PageNumberPagination):
    page_size = 50


class StockProjectsApi(generics.ListCreateAPIView):
    serializer_class = ProjectSerializer
    authentication_classes = [StockTokenAuthentication]
    permission_classes = [StockPlanPermission]
    throttle_classes = [StockPlanThrottle]
    pagination_class = StockPagination

    def get_queryset(self):
        tenant = _tenant(self.request._request, self.kwargs["subdomain"])
        return (
            Project.unscoped.using(PLAIN).filter(tenant_id=tenant.pk).order_by("-created_at", "id")
        )

    def perform_create(self, serializer: serializers.Serializer):
        tenant = _tenant(self.request._request, self.kwargs["subdomain"])
        plan = tenant.plan
        with transaction.atomic(using=PLAIN):
            if plan.max_projects is not None:
                # The stock way to stay within a limit under concurrency: lock, then count.
                Tenant.objects.using(PLAIN).select_for_update().filter(pk=tenant.pk).first()
                if (
                    Project.unscoped.using(PLAIN).filter(tenant_id=tenant.pk).count()
                    >= plan.max_projects
                ):
                    raise exceptions.PermissionDenied("plan limit")
            project = Project(
                tenant_id=tenant.pk,
                created_by_id=getattr(self.request.auth.created_by, "pk", None),
                **serializer.validated_data,
            )
            project.save(using=PLAIN, force_insert=True)
            AuditEvent(
                tenant_id=tenant.pk,
                actor_label=f"token:{self.request.auth.name}",
                action="project.create",
                target_type=Project._meta.label,
                target_id=str(project.pk),
                data={"name": project.name},
            ).save(using=PLAIN, force_insert=True)
        serializer.instance = project
