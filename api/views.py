"""The base every API view uses: token auth, plan/scope permissions, rate limit, headers."""

from __future__ import annotations

import hashlib

from django.urls import NoReverseMatch, Resolver404, resolve
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response

from accounts.models import ApiToken
from api.authentication import BearerTokenAuthentication
from api.exceptions import PreconditionFailed, error_body
from api.idempotency import IdempotentDispatchMixin
from api.pagination import ApiPagination
from api.permissions import API_PERMISSIONS
from api.throttling import PlanRateThrottle


class ApiViewMixin(IdempotentDispatchMixin):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = API_PERMISSIONS
    throttle_classes = [PlanRateThrottle]
    pagination_class = ApiPagination
    required_scope: str | None = None  # None: read for safe methods, write otherwise

    def check_permissions(self, request):
        # Count every authenticated call, refused ones included (a token without the scope
        # or the plan feature must not hammer for free): throttle first, then permissions.
        if isinstance(request.auth, ApiToken):
            super().check_throttles(request)
        self._throttles_checked = True
        super().check_permissions(request)

    def check_throttles(self, request):
        if not getattr(self, "_throttles_checked", False):
            super().check_throttles(request)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticated and allowed first
        if request.method in ("PUT", "PATCH", "DELETE") and not isinstance(self, EtagMixin):
            # A resource without an ETag has no representation a listed tag can match
            # (RFC 9110, 13.1.1): any If-Match but "*" is false, and the write is not done.
            tags = _if_match_tags(request)
            if tags and "*" not in tags:
                raise PreconditionFailed()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no tenant, no rows
            return self.get_serializer_class().Meta.model.unscoped.none()
        return self.tenant_queryset()

    def tenant_queryset(self):
        raise NotImplementedError

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 201 and "Location" not in response:
            location = self.created_location(response)
            if location:
                response["Location"] = location
        decision = getattr(request._request, "ratelimit", None)
        if decision is not None:
            for name, value in decision.headers().items():
                response[name] = value
        response["Cache-Control"] = "no-store"
        return response

    def created_location(self, response) -> str | None:
        """The absolute URL (on the request's own host) of the object a 201 created."""
        data = getattr(response, "data", None)
        if not isinstance(data, dict) or "id" not in data or not hasattr(self, "reverse_action"):
            return None
        kwargs = {k: v for k, v in self.kwargs.items() if k != self.lookup_field}
        kwargs[self.lookup_field] = data["id"]
        try:
            return self.reverse_action("detail", kwargs=kwargs)
        except NoReverseMatch:
            return None


def etag_for(obj) -> str:
    """A strong ETag from the row's id and updated_at (changes with every update)."""
    digest = hashlib.sha256(f"{obj.pk}:{obj.updated_at.isoformat()}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def check_if_match(request, obj) -> None:
    """PUT/PATCH/DELETE with If-Match must match the current ETag, else 412."""
    tags = _if_match_tags(request)
    if not tags or "*" in tags:
        return
    # Strong comparison (RFC 9110, 13.1.1): a weak tag never matches.
    if etag_for(obj) not in [t for t in tags if not t.startswith("W/")]:
        raise PreconditionFailed()


def _if_match_tags(request) -> list[str]:
    return [t.strip() for t in request.headers.get("If-Match", "").split(",") if t.strip()]


class EtagMixin:
    """ETag on single-object GET and writes; If-Match honoured on updates and deletes."""

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        tag = etag_for(obj)
        if tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            return Response(status=304, headers={"ETag": tag})
        return Response(self.get_serializer(obj).data, headers={"ETag": tag})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def api_not_found(request, *args, **kwargs):
    """Unknown /api/ paths: the API's 404 shape, not an HTML page."""
    message = "Not found."
    path = request.path_info
    if not path.endswith("/"):
        try:
            match = resolve(path + "/", urlconf=getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            message = f"Not found. API paths end with a slash: {path}/"
    return Response(error_body("not_found", message), status=404)
