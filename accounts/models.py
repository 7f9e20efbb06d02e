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
            models.UniqueConstraint(
                "tenant_id", "email", name="user_email_unique_per_tenant"
            )
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
