"""Members and API tokens of a tenant (invitations: invitations.py; password reset:
password_reset.py). Every write is audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import token_cache
from accounts.errors import AccountError, NotTheHolder, OwnerRequired
from accounts.models import (
    ROLE_SCOPE_CAP,
    ROLES_GRANTED,
    SCOPE_ORDER,
    ApiToken,
    Invitation,
    Role,
    TokenIssuer,
    TokenScope,
    User,
)
from audit.services import audit_record
from billing.limits import limit_check
from tenants import registry_listener
from tenants.routers import data_alias
from tenants.transactions import tenant_atomic
from webhooks.events import event_record, member_data

TOKEN_PREFIX = "tntr_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
# The longest life a token can be given, from any door (API, page, command).
MAX_EXPIRY_DAYS = 3650


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- members --------------------------------------------------------------------------------


def user_create(
    *,
    tenant,
    email: str,
    password: str | None,
    role: str = Role.MEMBER,
    name: str = "",
    actor=None,
    enforce_plan: bool = True,
) -> User:
    email = (email or "").strip().lower()
    if password:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages)) from None
    try:
        with tenant_atomic():
            if enforce_plan:
                limit_check(tenant=tenant, limit="max_members")
            user = User(tenant_id=tenant.pk, email=email, role=role, name=name)
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.full_clean(exclude=["password"])
            user.save(force_insert=True)
            audit_record(
                tenant=tenant,
                actor=actor,
                action="member.create",
                target=user,
                data={"email": email, "role": role},
            )
            event_record(tenant=tenant, type="member.joined", data=member_data(user))
    except ValidationError as exc:
        raise AccountError("; ".join(exc.messages)) from None
    except IntegrityError:
        raise AccountError(f"{email} is already a member of this organisation.") from None
    return user


def _owners_left(tenant, excluding: User) -> int:
    """Owners other than `excluding`, counted under a lock on every owner row.

    Two owners demoting each other at once would each see the other still in
    place; locking the owner rows serialises them, and the second re-reads the
    rows after the first commits (READ COMMITTED re-checks them): it then sees
    the last owner and is refused.
    """
    owners = (
        User.objects.select_for_update()
        .filter(tenant_id=tenant.pk, role=Role.OWNER, is_active=True)
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in owners if pk != excluding.pk)


def acting_role(actor) -> str | None:
    """The role an actor holds at this moment, whatever the door.

    A member: their own role (loaded with the request). A token: its creating
    member's current role, None for a token minted by an operator or command.
    Anything else (a system task, a command's label): None.
    """
    if isinstance(actor, User):
        return actor.role if actor.is_active else None
    token = getattr(actor, "token", None)
    if isinstance(token, ApiToken):
        return token.creator_role
    return None


OWNER_ONLY = "Only owners can grant, change or remove the owner role."


def _refuse_owner_change_by_non_owner(actor, member: User, role: str | None = None) -> None:
    # Admins run the organisation but cannot make, demote or remove owners; neither can a
    # token of theirs, an operator's token or any caller that is not an owner right now.
    if (member.role == Role.OWNER or role == Role.OWNER) and acting_role(actor) != Role.OWNER:
        raise OwnerRequired(OWNER_ONLY)


@tenant_atomic
def member_update_role(*, tenant, member: User, role: str, actor=None) -> User:
    if role not in Role.values:
        raise AccountError(f"Unknown role {role!r}.")
    _refuse_owner_change_by_non_owner(actor, member, role)
    if member.role == Role.OWNER and role != Role.OWNER and _owners_left(tenant, member) == 0:
        raise AccountError("The last owner cannot be demoted. Make someone else owner first.")
    old = member.role
    member.role = role
    member.save(update_fields=["role"])
    _tokens_changed(tenant)
    # Invitations the new role cannot grant would never be accepted: they stop holding seats.
    revoked = (
        _pending_invitations(tenant, member)
        .exclude(role__in=ROLES_GRANTED[role])
        .update(revoked_at=timezone.now())
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="member.role_change",
        target=member,
        data={"from": old, "to": role, **({"invitations_revoked": revoked} if revoked else {})},
    )
    return member


def _pending_invitations(tenant, member):
    return Invitation.objects.filter(
        tenant_id=tenant.pk, invited_by=member, accepted_at__isnull=True, revoked_at__isnull=True
    )


@tenant_atomic
def member_remove(*, tenant, member: User, actor=None) -> None:
    """Remove a member; their sessions, tokens and pending invitations end with the membership."""
    _refuse_owner_change_by_non_owner(actor, member)
    # The member's row first, then their tokens and invitations (the order an accept takes).
    User.objects.select_for_update().filter(tenant_id=tenant.pk, pk=member.pk).first()
    if member.role == Role.OWNER and _owners_left(tenant, member) == 0:
        raise AccountError("The last owner cannot be removed.")
    from accounts.models import TenantSession

    now = timezone.now()
    tokens = ApiToken.objects.filter(
        tenant_id=tenant.pk, created_by=member, revoked_at__isnull=True
    ).update(revoked_at=now)
    invitations = _pending_invitations(tenant, member).update(revoked_at=now)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="member.remove",
        target=member,
        data={
            "email": member.email,
            "tokens_revoked": tokens,
            "invitations_revoked": invitations,
        },
    )
    TenantSession.objects.filter(user_id=member.pk).delete()
    event_record(
        tenant=tenant, type="member.removed", data={"id": member.pk, "email": member.email}
    )
    member.delete()
    _tokens_changed(tenant)


# --- API tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the full bearer value, shown once


def _normalise_scopes(scopes) -> list[str]:
    scopes = sorted(set(scopes or []))
    unknown = [s for s in scopes if s not in TokenScope.values]
    if not scopes or unknown:
        raise AccountError(f"Scopes must be a non-empty subset of {', '.join(TokenScope.values)}.")
    return scopes


def _token_issue(
    *, tenant, actor, name: str, scopes, holder, issuer: str, expires_at, data: dict | None = None
) -> IssuedToken:
    """A new token for `holder` (issued as `issuer`), audited as done by `actor`."""
    name = (name or "").strip()
    if not name:
        raise AccountError("A token needs a name.")
    if len(name) > (limit := ApiToken._meta.get_field("name").max_length):
        raise AccountError(f"A token name has at most {limit} characters.")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        tenant_id=tenant.pk,
        name=name,
        key_id=key_id,
        secret_hash=_sha256(secret),
        scopes=_normalise_scopes(scopes),
        created_by=holder,
        issuer=issuer,
        expires_at=expires_at,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="token.create",
        target=token,
        data={"name": name, "scopes": token.scopes, **(data or {})},
    )
    return IssuedToken(token, f"{TOKEN_PREFIX}{key_id}_{secret}")


@tenant_atomic
def token_create(
    *,
    tenant,
    name: str,
    scopes,
    actor=None,
    created_by=None,
    expires_in_days: int | None = None,
) -> IssuedToken:
    """A token held by `created_by` (a member), or by no one: an operator's (issuer operator).

    `actor` is who asks (audited); the holder is whose authority the token carries.
    """
    if expires_in_days is not None and not 0 < expires_in_days <= MAX_EXPIRY_DAYS:
        raise AccountError(f"Expiry must be between 1 and {MAX_EXPIRY_DAYS} days.")
    return _token_issue(
        tenant=tenant,
        actor=actor,
        name=name,
        scopes=scopes,
        holder=created_by,
        # No holding member: an operator or a command minted it.
        issuer=TokenIssuer.MEMBER if created_by is not None else TokenIssuer.OPERATOR,
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )


@tenant_atomic
def token_revoke(*, tenant, token: ApiToken, actor=None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _tokens_changed(tenant)
        audit_record(tenant=tenant, actor=actor, action="token.revoke", target=token)
    return token


def _credential_of(actor) -> tuple[str, object]:
    """(issuer kind, member id) the actor acts as: a member in person or by token, or an
    operator (an operator-minted token, a command's or the console's label)."""
    token = getattr(actor, "token", None)
    if isinstance(token, ApiToken):
        return token.issuer, token.created_by_id
    if isinstance(actor, User):
        return TokenIssuer.MEMBER, actor.pk
    return (TokenIssuer.OPERATOR, None) if isinstance(actor, str) and actor else ("", None)


def _scopes_within(scopes, role) -> list[str]:
    """The scopes a member in `role` may hold now: wider ones narrowed to the role's cap."""
    cap = ROLE_SCOPE_CAP[role]
    top = SCOPE_ORDER.index(cap)
    return sorted({str(s if SCOPE_ORDER.index(s) <= top else cap) for s in scopes})


@tenant_atomic
def token_rotate(*, tenant, token: ApiToken, actor=None) -> IssuedToken:
    """A new secret for the same holder, name, scopes and expiry; the old one stops working now.

    The new secret goes to the caller, so only the holder rotates: a member's token by that
    member (any of their tokens), an operator's by an operator. Anyone else would walk away
    with authority not theirs, kept past their own demotion or removal (an admin rotating an
    owner's token acted as owner). Scopes are narrowed to the holder's current role.
    """
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise AccountError("This token has expired; create a new one.")
    issuer, holder, scopes = token.issuer, token.created_by, token.scopes
    if _credential_of(actor) != (issuer, token.created_by_id):
        raise NotTheHolder(
            "Only the token's own holder can rotate it (the new secret goes to whoever "
            "rotates): revoke it instead, and its holder creates a new one."
        )
    if issuer == TokenIssuer.MEMBER:
        # The holder's row as it is now, locked against a concurrent role change. Whatever
        # races, the new token acts at each use with its holder's role of that moment
        # (ApiToken.has_scope) and is dead once the holder's row is gone.
        holder = (
            User.objects.select_for_update()
            .filter(tenant_id=tenant.pk, pk=token.created_by_id)
            .first()
        )
        if holder is None or not holder.is_active:
            raise AccountError("This token's member is no longer in the organisation.")
        scopes = _scopes_within(scopes, holder.role)
    token_revoke(tenant=tenant, token=token, actor=actor)
    return _token_issue(
        tenant=tenant,
        actor=actor,
        name=token.name,
        scopes=scopes,
        holder=holder,
        issuer=issuer,
        expires_at=token.expires_at,
        data={"rotated_from": f"{TOKEN_PREFIX}{token.key_id}_…"},
    )


def token_authenticate(*, tenant, raw: str) -> ApiToken | None:
    """The usable token for this bearer value in this tenant, or None.

    From this process's token cache (accounts.token_cache: bounded, dropped on
    change) or one indexed query. The lookup runs under the request tenant's RLS
    context: another tenant's token finds no row, exactly like a made-up one.
    The secret's hash is compared on every use, cached or not.
    """
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    key_id, sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    token = token_cache.get(tenant.pk, key_id)
    if token is None:
        read_at = token_cache.read_time()
        # The creator comes in the same query: what the token may do is read from their
        # current membership (ApiToken.has_scope), never from a copy older than the bound.
        token = (
            ApiToken.objects.select_related("created_by")
            .filter(tenant_id=tenant.pk, key_id=key_id)
            .first()
        )
        if token is None:
            return None
        token_cache.put(tenant.pk, key_id, token, read_at)
    if not hmac.compare_digest(token.secret_hash, _sha256(secret)):
        return None
    if not token.is_usable or not token.creator_is_member:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # At most one write a minute per token, not one per request.
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _tokens_changed(tenant) -> None:
    """Tokens or their creators changed: this process forgets them now, others on NOTIFY
    (the tables' trigger; relayed to the main database for a tenant whose rows live
    elsewhere, where no listener hears the trigger)."""
    token_cache.forget_tenant(tenant.pk)
    alias = data_alias(tenant)

    def committed():
        token_cache.forget_tenant(tenant.pk)
        registry_listener.relay(token_cache.TOKEN_PAYLOAD + str(tenant.pk), written_on=alias)

    transaction.on_commit(committed, using=alias, robust=True)
