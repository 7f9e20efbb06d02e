"""Bearer-token authentication for the API: the token must belong to the host's tenant."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions

from accounts.models import ApiToken, TokenIssuer
from accounts.services import token_authenticate

REALM = 'Bearer realm="api"'


@dataclass(frozen=True)
class ApiClient:
    """`request.user` for a token request: the principal that acts, never a platform user.

    Views pass it to services as `actor`; audit.services.actor_fields records it by the
    label below. It is the token that acts, so the token is named (its key id, never the
    secret), and for a member's token also the member on whose authority it acts.
    """

    token: ApiToken

    is_authenticated = True
    is_anonymous = False
    pk = None  # not a User row

    @property
    def audit_label(self) -> str:
        """`token:<name> (tntr_<key_id>_…)`, plus ` of <email>` for a member's token."""
        label = f"token:{self.token}"
        holder = self.user
        return f"{label} of {holder.email}" if holder is not None else label

    @property
    def audit_actor_id(self):
        """The member behind the token (audit `actor`), None for operator-minted ones."""
        holder = self.user
        return holder.pk if holder is not None else None

    @property
    def user(self):
        """The member who holds the token (None for operator-minted ones): owner of what
        it creates (`created_by`), never the audit actor — that is this client."""
        return self.token.created_by if self.token.issuer == TokenIssuer.MEMBER else None


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
