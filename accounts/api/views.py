"""Members, invitations and API tokens over the API: admin scope only.

Every write passes `actor=request.user` (the API client: the token acts, and the audit
names it); `request.user.user` is only ever the holder of what is created.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import invitations, selectors, services
from accounts.api.serializers import (
    InvitationCreateSerializer,
    InvitationSerializer,
    IssuedInvitationSerializer,
    IssuedTokenSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from accounts.models import TokenScope
from accounts.tasks import invitation_accept_path
from api.filters import UUID_RE
from api.views import ApiViewMixin
from tenants.links import tenant_url


class _AdminViewSet(ApiViewMixin, viewsets.GenericViewSet):
    required_scope = TokenScope.ADMIN
    lookup_value_regex = UUID_RE


@extend_schema_view(
    list=extend_schema(summary="List members", tags=["members"]),
    retrieve=extend_schema(summary="Get a member", tags=["members"]),
    partial_update=extend_schema(
        summary="Change a member's role", tags=["members"], request=MemberRoleSerializer
    ),
    destroy=extend_schema(summary="Remove a member", tags=["members"]),
)
class MemberViewSet(_AdminViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = MemberSerializer
    cursor_field = "date_joined"  # keyset pagination (?cursor=) walks members by join date
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def tenant_queryset(self):
        return selectors.member_list(tenant=self.request.tenant)

    def get_object(self):
        return selectors.member_get(tenant=self.request.tenant, member_id=self.kwargs["pk"])

    def partial_update(self, request, *args, **kwargs):
        member = self.get_object()
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.member_update_role(
            tenant=request.tenant,
            member=member,
            role=data.validated_data["role"],
            actor=request.user,
        )
        return Response(MemberSerializer(member).data)

    def destroy(self, request, *args, **kwargs):
        services.member_remove(tenant=request.tenant, member=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def invitation_accept_url(request, token: str) -> str:
    return tenant_url(request.tenant, invitation_accept_path(token), request=request)


@extend_schema_view(
    list=extend_schema(summary="List invitations", tags=["invitations"]),
    retrieve=extend_schema(summary="Get an invitation", tags=["invitations"]),
    create=extend_schema(
        summary="Invite someone (the accept URL is returned once)",
        tags=["invitations"],
        request=InvitationCreateSerializer,
        responses={201: IssuedInvitationSerializer},
    ),
    destroy=extend_schema(summary="Revoke an invitation", tags=["invitations"]),
)
class InvitationViewSet(_AdminViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = InvitationSerializer
    idempotency_redact = ("accept_url",)  # holds the invitation's one-time token

    def tenant_queryset(self):
        return selectors.invitation_list(tenant=self.request.tenant)

    def get_object(self):
        return selectors.invitation_get(tenant=self.request.tenant, invitation_id=self.kwargs["pk"])

    def create(self, request, *args, **kwargs):
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = invitations.invitation_create(
            tenant=request.tenant,
            actor=request.user,
            invited_by=request.user.user,
            **data.validated_data,
        )
        body = IssuedInvitationSerializer(issued.invitation).data
        body["accept_url"] = invitation_accept_url(request, issued.token)
        return Response(body, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        invitations.invitation_revoke(
            tenant=request.tenant, invitation=self.get_object(), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List API tokens", tags=["tokens"]),
    retrieve=extend_schema(summary="Get an API token (never its secret)", tags=["tokens"]),
    create=extend_schema(
        summary="Create an API token (the secret is returned once)",
        tags=["tokens"],
        request=TokenCreateSerializer,
        responses={201: IssuedTokenSerializer},
    ),
    destroy=extend_schema(
        summary="Revoke an API token (effective on the next request)", tags=["tokens"]
    ),
    rotate=extend_schema(
        summary="Rotate: revoke this token and issue a new secret with the same name, scopes, expiry",
        tags=["tokens"],
        request=None,
        responses={201: IssuedTokenSerializer},
    ),
)
class TokenViewSet(_AdminViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = TokenSerializer
    idempotency_redact = ("secret",)  # shown once; only its hash is kept anywhere

    def tenant_queryset(self):
        return selectors.token_list(tenant=self.request.tenant)

    def get_object(self):
        return selectors.token_get(tenant=self.request.tenant, token_id=self.kwargs["pk"])

    @staticmethod
    def _issued(issued):
        body = IssuedTokenSerializer(issued.token).data
        body["secret"] = issued.secret
        return Response(body, status=status.HTTP_201_CREATED)

    def create(self, request, *args, **kwargs):
        data = TokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._issued(
            services.token_create(
                tenant=request.tenant,
                actor=request.user,
                created_by=request.user.user,
                **data.validated_data,
            )
        )

    def destroy(self, request, *args, **kwargs):
        services.token_revoke(tenant=request.tenant, token=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def rotate(self, request, *args, **kwargs):
        return self._issued(
            services.token_rotate(
                tenant=request.tenant, token=self.get_object(), actor=request.user
            )
        )
