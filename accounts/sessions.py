"""Session engine: tenant hosts keep sessions in the tenant's RLS-protected table.

The row's `session_key` column holds a hash of the cookie value, never the
value: a copy of the table (a backup, a leaked dump, a replica) names no
usable session. The hash is unkeyed on purpose: the cookie value is 32 random
characters (~165 bits), so it cannot be guessed from its hash, and rotating
SECRET_KEY does not log everybody out.

The session models are defined here, beside the store they name
(`get_session_store_class`), and re-exported by accounts.models.
"""

from __future__ import annotations

import hashlib

from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import SuspiciousOperation
from django.db import models
from django.utils import timezone

from tenants.context import get_current_tenant
from tenants.models import TenantOwned

# AbstractBaseSession.session_key is 40 characters: 160 bits of SHA-256.
_STORED_LENGTH = 40


def session_key_hash(session_key: str) -> str:
    """What the session table stores for a cookie value."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:_STORED_LENGTH]


class SessionStore(DBStore):
    @property
    def model(self):
        return TenantSession if get_current_tenant() is not None else PlatformSession

    @classmethod
    def get_model_class(cls):
        return PlatformSession

    def _get_session_from_db(self):
        if self.session_key is None:
            return None
        try:
            return self.model.objects.get(
                session_key=session_key_hash(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation):
            self._session_key = None
            return None

    def exists(self, session_key):
        return self.model.objects.filter(session_key=session_key_hash(session_key)).exists()

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        instance.session_key = session_key_hash(instance.session_key)
        if hasattr(instance, "user_id"):
            instance.user_id = data.get("_auth_user_id")
        return instance

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=session_key_hash(session_key)).delete()

    async def _aget_session_from_db(self):
        if self.session_key is None:
            return None
        try:
            return await self.model.objects.aget(
                session_key=session_key_hash(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation):
            self._session_key = None
            return None

    async def aexists(self, session_key):
        return await self.model.objects.filter(session_key=session_key_hash(session_key)).aexists()

    async def acreate_model_instance(self, data):
        instance = await super().acreate_model_instance(data)
        instance.session_key = session_key_hash(instance.session_key)
        if hasattr(instance, "user_id"):
            instance.user_id = data.get("_auth_user_id")
        return instance

    async def adelete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        await self.model.objects.filter(session_key=session_key_hash(session_key)).adelete()


class TenantSession(TenantOwned, AbstractBaseSession):
    """Sessions on a tenant host. RLS makes a foreign session key load nothing."""

    # A session row is a live login: never exported, never restored.
    export_fields = ()
    in_operator_backup = False

    # Which member the session belongs to, so removing a member ends their sessions.
    user_id = models.UUIDField(null=True, blank=True, db_index=True)

    # expire_date is indexed by AbstractBaseSession itself (db_index=True): no second index.

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


class PlatformSession(AbstractBaseSession):
    """Sessions on hosts without a tenant (apex sign-up, operator console)."""

    @classmethod
    def get_session_store_class(cls):
        return SessionStore
