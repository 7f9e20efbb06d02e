"""Resolves the tenant from the Host and runs the rest of the request in its scope."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, OperationalError

from tenants import attribution, resolvers
from tenants.backends import backend_for
from tenants.backends.database import TenantDatabaseUnavailable
from tenants.backends.migrate import code_state
from tenants.context import clean_scope, tenant_scope
from tenants.fair_share import is_busy_error
from tenants.fence import is_fence_error
from tenants.models import TenantStatus
from tenants.responses import refusal

logger = logging.getLogger("tenants.middleware")


class TenantMiddleware:
    """Must come before sessions and auth: those rows are tenant-owned too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        with clean_scope("a request"):
            return self._dispatch(request)

    def _dispatch(self, request):
        try:
            match = resolvers.match_host(request.get_host())
        except DisallowedHost:
            # Not under BASE_DOMAIN (ALLOWED_HOSTS): served only as a verified custom domain.
            raw = request._get_raw_host()
            match = resolvers.match_host(raw)
            if match.kind != resolvers.CUSTOM:
                return refusal(request, 400, "invalid_host", "This host name is not served here.")

        if match.kind == resolvers.APEX:
            return self.get_response(request)
        if match.kind == resolvers.OPERATOR:
            request.urlconf = settings.OPERATOR_URLCONF
            return self.get_response(request)
        if match.kind == resolvers.INVALID:
            return refusal(request, 400, "invalid_host", f"Malformed host: {match.reason}.")
        if match.kind == resolvers.UNKNOWN:
            return refusal(
                request,
                404,
                "tenant_not_found",
                "No organisation lives at this address.",
            )

        try:
            if match.kind == resolvers.CUSTOM:
                tenant = resolvers.tenant_for_domain(match.domain)
                if tenant is not None:
                    # The registry vouches for this host: Django's own checks (CSRF
                    # origin, absolute URLs) see it like an ALLOWED_HOSTS entry.
                    request.get_host = functools.partial(_verified_host, match.canonical)
            else:
                tenant = resolvers.tenant_for_subdomain(match.subdomain)
        except DatabaseError:
            logger.exception("tenant registry unavailable")
            return refusal(
                request,
                503,
                "registry_unavailable",
                "The service is briefly unavailable. Please retry shortly.",
                {"Retry-After": "5"},
            )
        if tenant is None or tenant.status == TenantStatus.DELETING:
            return refusal(
                request,
                404,
                "tenant_not_found",
                "No organisation lives at this address.",
            )
        if tenant.status == TenantStatus.SUSPENDED:
            return refusal(
                request,
                403,
                "tenant_suspended",
                "This organisation's account is suspended. Its owner can contact support to restore it.",
            )
        if tenant.status != TenantStatus.ACTIVE:
            return refusal(
                request,
                503,
                f"tenant_{tenant.status}",
                "This organisation is being set up or moved. Please retry in a minute.",
                {"Retry-After": "30"},
            )

        if tenant.has_own_placement and tenant.migration_state != code_state():
            # Serving a schema/database that lags behind the code could corrupt it.
            return refusal(
                request,
                503,
                "tenant_upgrading",
                "This organisation's data is being upgraded. Please retry in a minute.",
                {"Retry-After": "60"},
            )

        request.tenant = tenant
        request.urlconf = settings.TENANT_URLCONF
        with (
            tenant_scope(tenant),
            attribution.request_tag(
                tenant=tenant.subdomain, request_id=getattr(request, "request_id", None)
            ),
        ):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """The URL is resolved now: the statements' tag names the route group too."""
        if request.tenant is not None:
            match = request.resolver_match
            route = (match.route or "") if match is not None else ""
            attribution.tag_route_group(route.strip("/^").split("/", 1)[0] or "home")
        return None

    def process_exception(self, request, exception):
        """A fenced placement or a tenant database that is down: a fast, clear 503, not a 500."""
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return None
        if is_fence_error(exception):
            return fenced_refusal(request, tenant)
        if is_busy_error(exception):
            return busy_refusal(request)
        if isinstance(exception, TenantDatabaseUnavailable):
            pass
        elif not (
            isinstance(exception, OperationalError) and backend_for(tenant).mark_down(tenant)
        ):
            # Only a placement on a runtime alias (a tenant database, another server's
            # pool) trips its breaker; the main database failing is everybody's 500.
            return None
        logger.warning("database of tenant %s unavailable: %s", tenant.subdomain, exception)
        return refusal(
            request,
            503,
            "tenant_database_unavailable",
            "This organisation's database is temporarily unavailable. Please retry shortly.",
            {"Retry-After": "5"},
        )


def fenced_refusal(request, tenant):
    """This process acted on a placement the tenant left: forget it, ask for a retry.

    The retry resolves the tenant afresh and is served from its current placement.
    """
    resolvers.invalidate(tenant.subdomain)
    logger.info("stale placement of %s refused by its fence; cache dropped", tenant.subdomain)
    return refusal(
        request,
        503,
        "tenant_moved",
        "This organisation's data just moved. Please retry.",
        {"Retry-After": "1"},
    )


def busy_refusal(request):
    """The tenant already runs its share of transactions on its server (tenants.fair_share)."""
    return refusal(
        request,
        503,
        "tenant_busy",
        "This organisation is running a lot of work right now. Please retry shortly.",
        {"Retry-After": "1"},
    )


def _verified_host(host: str) -> str:
    return host
