"""Tenant-scoped users and sessions: an email is unique within one tenant only."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone

from tenants.managers import TenantManager
from tenants.models import TenantModel, TenantOwned


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


class TenantSession(TenantOwned, AbstractBaseSession):
    """Sessions on a tenant host. RLS makes a foreign session key load nothing."""

    # Which member the session belongs to, so removing a member ends their sessions.
    user_id = models.UUIDField(null=True, blank=True, db_index=True)

    class Meta(TenantOwned.Meta):
        indexes = [models.Index(fields=["expire_date"], name="tenant_session_expiry")]

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore


class PlatformSession(AbstractBaseSession):
    """Sessions on hosts without a tenant (apex sign-up, operator console)."""

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore


class Invitation(TenantModel):
    """An invitation to join a tenant. Only a hash of its secret is stored."""

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


class ApiToken(TenantModel):
    """A per-organisation API token: `tntr_<key_id>_<secret>`; only the secret's hash is kept.

    The recognisable `tntr_` prefix lets secret scanners find leaked tokens.
    `key_id` is the indexed lookup; the hash is compared in constant time.
    """

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

    def has_scope(self, scope: str) -> bool:
        # admin ⊇ write ⊇ read
        order = [TokenScope.READ, TokenScope.WRITE, TokenScope.ADMIN]
        granted = max((order.index(s) for s in self.scopes if s in order), default=-1)
        return granted >= order.index(scope)
