"""Tenant-scoped users and sessions: an email is unique within one tenant only."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone

# The session models live with their store (a model names its store, the store its
# model: one module, so the imports point one way); re-exported as models of this app.
from accounts.sessions import PlatformSession, TenantSession  # noqa: F401
from tenants.managers import TenantManager
from tenants.models import TenantModel, tenant_id_field


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class UserManager(TenantManager, BaseUserManager):
    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def create_user(self, email, password=None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(TenantModel, AbstractBaseUser):
    # Restoring a backup over the live tenant leaves these rows as they are
    # (tenants.export.tenant_import): a removal, revocation or demotion since stands.
    restore_over_live = False
    # Customer export: never the password hash.
    export_fields = ("email", "name", "role", "is_active", "date_joined", "last_login")

    # (tenant_id, email), the unique constraint, serves every tenant lookup; see tenant_id_field.
    tenant_id = tenant_id_field(db_index=False)
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=150, blank=True, default="")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant_id", "email", name="user_email_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)

    # Tenant users are never platform staff; the operator console has its own login.
    is_staff = False
    is_superuser = False

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False


class Invitation(TenantModel):
    """An invitation to join a tenant. Only a hash of its secret is stored."""

    # A restore over the live tenant keeps these rows (tenants.export.tenant_import).
    restore_over_live = False
    # Customer export: never the token hash (a single-use secret).
    export_fields = (
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    )

    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    # Same-tenant keys only (AddSameTenantForeignKey): db_constraint=False.
    invited_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    ADMIN = "admin", "Admin"


# admin ⊇ write ⊇ read
SCOPE_ORDER = [TokenScope.READ, TokenScope.WRITE, TokenScope.ADMIN]

# The roles an invitation sent by a member of each role may grant: checked when it is
# accepted, and a role change revokes the sender's pending ones it no longer covers.
ROLES_GRANTED = {
    Role.OWNER: (Role.OWNER, Role.ADMIN, Role.MEMBER),
    Role.ADMIN: (Role.ADMIN, Role.MEMBER),
    Role.MEMBER: (),
}

# The widest scope each role may exercise, in person or through a token it created.
ROLE_SCOPE_CAP = {
    Role.OWNER: TokenScope.ADMIN,
    Role.ADMIN: TokenScope.ADMIN,
    Role.MEMBER: TokenScope.WRITE,
}


def _scope_level(scope) -> int:
    return SCOPE_ORDER.index(scope) if scope in SCOPE_ORDER else -1


class TokenIssuer(models.TextChoices):
    # A member's token acts with at most its creator's current role, and dies with the
    # membership. The default: a member token whose creator row is gone is dead, never
    # mistaken for an operator's.
    MEMBER = "member", "A member"
    # Minted by an operator or a command: its scopes only, and never the owner role.
    OPERATOR = "operator", "An operator"


class ApiToken(TenantModel):
    """A per-organisation API token: `tntr_<key_id>_<secret>`; only the secret's hash is kept.

    The recognisable `tntr_` prefix lets secret scanners find leaked tokens.
    `key_id` is the indexed lookup; the hash is compared in constant time.
    """

    # A restore over the live tenant keeps these rows (tenants.export.tenant_import).
    restore_over_live = False

    # Customer export: the public key id (shown in the UI), never the secret's hash.
    export_fields = (
        "name",
        "key_id",
        "scopes",
        "created_by",
        "issuer",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )

    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    issuer = models.CharField(
        max_length=16, choices=TokenIssuer.choices, default=TokenIssuer.MEMBER
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (tntr_{self.key_id}_…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    # Authority is read at the moment of use from the creator's row, which the token
    # lookup loads in the same query (select_related): no stored copy of a role to go stale.

    @property
    def creator_is_member(self) -> bool:
        """False once a member token's creator is removed or deactivated: the token is dead."""
        if self.issuer == TokenIssuer.OPERATOR:
            return True
        creator = self.created_by
        return creator is not None and creator.is_active

    @property
    def creator_role(self) -> str | None:
        """The creator's current role; None for operator tokens and dead member tokens."""
        if self.issuer != TokenIssuer.MEMBER or not self.creator_is_member:
            return None
        return self.created_by.role

    def has_scope(self, scope: str) -> bool:
        """The token's own scopes, intersected with what its creator's current role allows."""
        granted = max((_scope_level(s) for s in self.scopes), default=-1)
        if self.issuer != TokenIssuer.OPERATOR:
            granted = min(granted, _scope_level(ROLE_SCOPE_CAP.get(self.creator_role)))
        return granted >= _scope_level(scope)


class LoginFailure(models.Model):
    """Failed sign-ins (or reset requests) under one throttle key: see accounts.throttle.

    Control data in the main database, outside RLS: the key is a keyed digest (HMAC) of what it
    counts (kind, tenant, email, client address), so no email, address or tenant id
    is stored in clear. PostgreSQL rather than the cache: counting must go on when
    Redis is down, and every process must see the same count.
    """

    key = models.CharField(max_length=64, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["last_failure_at"], name="login_failure_last")]

    def __str__(self) -> str:
        return f"{self.failures} failure(s) under {self.key[:12]}…"


class HandoffUse(models.Model):
    """A sign-up hand-off token that has been used (accounts.handoff): each works once.

    A row per used nonce, in the main database: one unique insert decides, in
    every process, with or without Redis. Rows older than the token's lifetime
    are useless and purged as new ones arrive.
    """

    nonce = models.CharField(max_length=64, primary_key=True)
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"hand-off used at {self.used_at:%Y-%m-%d %H:%M:%S}"
