"""Session engine: tenant hosts keep sessions in the tenant's RLS-protected table."""

from django.contrib.sessions.backends.db import SessionStore as DBStore

from tenants.context import get_current_tenant


class SessionStore(DBStore):
    @property
    def model(self):
        from accounts.models import PlatformSession, TenantSession

        return TenantSession if get_current_tenant() is not None else PlatformSession

    @classmethod
    def get_model_class(cls):
        from accounts.models import PlatformSession

        return PlatformSession

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        if hasattr(instance, "user_id"):
            instance.user_id = data.get("_auth_user_id")
        return instance
