"""Invitations: issue (mailed through the outbox), accept, revoke. Every write is audited."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import ROLES_GRANTED, Invitation, Role, User
from accounts.services import AccountError, OwnerRequired, _sha256, acting_role, user_create
from audit.services import audit_record
from billing.limits import advisory_xact_lock, limit_check
from tenants.outbox import outbox_enqueue
from tenants.routers import data_alias
from tenants.transactions import tenant_atomic

INVITATION_TTL = timedelta(days=7)
_TOKEN_SALT = "tenantry.accounts.invitation-token"
# Queued by name: the task imports this module (invitation_token), so the imports point
# one way (task → service).
SEND_TASK = "accounts.send_invitation_email"


class TokenUnavailable(Exception):
    """The invitation's link cannot be made again: SECRET_KEY changed beyond its fallbacks."""


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown/sent once; only its hash is stored


@tenant_atomic
def invitation_create(
    *, tenant, email: str, role: str = Role.MEMBER, actor=None, invited_by=None
) -> IssuedInvitation:
    """Invite `email` on `invited_by`'s authority (a member; None for an operator's token).

    `actor` is who asks now (audited, and the one the owner rule asks); the inviter is
    whose authority the invitation carries until it is accepted.
    """
    email = (email or "").strip().lower()
    if role not in Role.values:
        raise AccountError(f"Unknown role {role!r}.")
    if role == Role.OWNER and acting_role(actor) != Role.OWNER:
        raise OwnerRequired("Only owners can invite owners.")
    if User.objects.filter(tenant_id=tenant.pk, email=email).exists():
        raise AccountError(f"{email} is already a member of this organisation.")
    # A new invitation replaces a pending one for the same address, whose seat it takes
    # over: revoked before the count (a refusal below rolls the revocation back too).
    # Invitations to one address queue here, so each sees (and revokes) the one before.
    advisory_xact_lock(data_alias(tenant), f"{tenant.pk}:invitation:{email}")
    Invitation.objects.filter(
        tenant_id=tenant.pk, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    limit_check(tenant=tenant, limit="max_members")
    invitation_id = uuid.uuid4()
    token = _derive_token(tenant.pk, invitation_id, settings.SECRET_KEY)
    invitation = Invitation.objects.create(
        id=invitation_id,
        tenant_id=tenant.pk,
        email=email,
        role=role,
        token_hash=_sha256(token),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="invitation.create",
        target=invitation,
        data={"email": email, "role": role},
    )
    # The id only: the task makes the token again (invitation_token), so no row, message
    # or log line of the task queue ever holds it (docs/security.md, "Secrets never leave").
    outbox_enqueue(SEND_TASK, str(invitation.pk))
    return IssuedInvitation(invitation, token)


def _derive_token(tenant_id, invitation_id, secret: str) -> str:
    # 256 bits of HMAC-SHA256 over the row's random UUID: unguessable without SECRET_KEY,
    # like Django's password reset tokens, and the same 43 URL-safe characters as before.
    digest = salted_hmac(
        _TOKEN_SALT, f"{tenant_id}:{invitation_id}", secret=secret, algorithm="sha256"
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invitation_token(*, invitation: Invitation, legacy_token: str | None = None) -> str:
    """The invitation's secret, made again from its id, for the mail that carries it.

    Checked against the stored hash: an invitation issued before a SECRET_KEY rotation is
    made with the key in SECRET_KEY_FALLBACKS that issued it; raises TokenUnavailable
    when none did (an invitation older than the fallbacks: issue a new one).
    `legacy_token`: the random token an outbox row queued before tokens were derived
    still carries (its only copy); used when it matches the stored hash.
    """
    if legacy_token is not None and _sha256(legacy_token) == invitation.token_hash:
        return legacy_token
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        token = _derive_token(invitation.tenant_id, invitation.pk, secret)
        if _sha256(token) == invitation.token_hash:
            return token
    raise TokenUnavailable(f"invitation {invitation.pk}: no current key made its token")


def _inviter_may_still_grant(invitation: Invitation) -> bool:
    """An invitation grants its role only while whoever issued it could still grant it."""
    if invitation.invited_by_id is None:  # an operator's token: never the owner role
        return invitation.role != Role.OWNER
    return invitation.role in ROLES_GRANTED.get(acting_role(invitation.invited_by), ())


def invitation_get_pending(*, tenant, token: str) -> Invitation | None:
    invitation = (
        Invitation.objects.select_related("invited_by")
        .filter(tenant_id=tenant.pk, token_hash=_sha256(token or ""))
        .first()
    )
    if invitation is None or not invitation.is_pending:
        return None
    return invitation if _inviter_may_still_grant(invitation) else None


def _pending_locked(*, tenant, token: str) -> Invitation | None:
    """The pending invitation, its sender's row locked first, then its own, until commit.

    Read under the locks, so a sender's role change or removal (which lock the member's
    row, then their invitations: the same order) or a second accept running at the same
    moment is decided before or after this one, never beside it: an invitation is not
    accepted on the authority of a role its sender was just losing.
    """
    rows = Invitation.objects.filter(tenant_id=tenant.pk, token_hash=_sha256(token or ""))
    sender_id = rows.values_list("invited_by_id", flat=True).first()
    sender = User.objects.select_for_update().filter(pk=sender_id).first() if sender_id else None
    invitation = rows.select_for_update().first()
    if invitation is None or not invitation.is_pending:
        return None
    if invitation.invited_by_id is not None:
        if invitation.invited_by_id != sender_id or sender is None:
            return None
        invitation.invited_by = sender
    return invitation if _inviter_may_still_grant(invitation) else None


@tenant_atomic
def invitation_accept(*, tenant, token: str, password: str, name: str = "") -> User:
    invitation = _pending_locked(tenant=tenant, token=token)
    if invitation is None:
        raise AccountError("This invitation is invalid, used or expired. Ask for a new one.")
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    # The pending invitation already held its seat under the member limit.
    user = user_create(
        tenant=tenant,
        email=invitation.email,
        password=password,
        role=invitation.role,
        name=name,
        enforce_plan=False,
    )
    audit_record(tenant=tenant, actor=user, action="invitation.accept", target=invitation)
    return user


@tenant_atomic
def invitation_revoke(*, tenant, invitation: Invitation, actor=None) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(tenant=tenant, actor=actor, action="invitation.revoke", target=invitation)
