"""Who may call what: a valid token, the plan's `api_access`, and a large enough scope."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.models import ApiToken, TokenScope
from billing.limits import feature_require


class InsufficientScope(exceptions.PermissionDenied):
    default_code = "insufficient_scope"

    def __init__(self, needed: str):
        super().__init__(f"This token lacks the '{needed}' scope.", code=self.default_code)


class HasToken(permissions.BasePermission):
    """False without a token: DRF then answers 401 with WWW-Authenticate."""

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiToken)


class PlanAllowsApi(permissions.BasePermission):
    """The plan feature `api_access` (raises FeatureNotInPlan -> 403 feature_not_in_plan)."""

    def has_permission(self, request, view):
        feature_require(tenant=request.tenant, feature="api_access")
        return True


class TokenHasScope(permissions.BasePermission):
    """read for safe methods, write for the others; a view may demand more (`required_scope`)."""

    def has_permission(self, request, view):
        needed = getattr(view, "required_scope", None) or (
            TokenScope.READ if request.method in permissions.SAFE_METHODS else TokenScope.WRITE
        )
        if not request.auth.has_scope(needed):
            raise InsufficientScope(needed)
        return True


API_PERMISSIONS = [HasToken, PlanAllowsApi, TokenHasScope]
