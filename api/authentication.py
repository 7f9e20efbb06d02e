"""Bearer-token authentication for the API: the token must belong to the host's tenant."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions

from accounts.models import ApiToken
from accounts.services import token_authenticate

REALM = 'Bearer realm="api"'


@dataclass(frozen=True)
class ApiClient:
    """`request.user` for a token request: who acts (for audit), never a platform user."""

    token: ApiToken

    is_authenticated = True
    is_anonymous = False
    pk = None  # not a User row: audit rows carry the label below

    @property
    def email(self) -> str:  # audit_record labels the actor with this
        return f"token:{self.token.name} (tntr_{self.token.key_id}_…)"

    @property
    def user(self):
        """The member who created the token (None for operator-minted ones)."""
        return self.token.created_by


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tntr_<key_id>_<secret>`.

    The tenant comes from the host only (request.tenant, set by the tenant
    middleware); the lookup runs under that tenant's RLS context, so a token of
    another tenant finds no row and is rejected like a made-up one.
    """

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword.encode():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Malformed token.") from None
        tenant = getattr(request._request, "tenant", None)
        token = token_authenticate(tenant=tenant, raw=raw) if tenant is not None else None
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return ApiClient(token), token

    def authenticate_header(self, request):
        return REALM
