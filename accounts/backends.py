"""Email + password login within the tenant of the request; never across tenants."""

from django.contrib.auth.backends import BaseBackend

from accounts.models import User
from tenants.context import get_current_tenant


class TenantEmailBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip().lower()
        if get_current_tenant() is None or not email or password is None:
            return None
        try:
            user = User.objects.get(email=email)
        except User.DoesNotExist:
            # Hash anyway so unknown and known emails take the same time.
            User().set_password(password)
            return None
        if user.check_password(password) and user.is_active:
            return user
        return None

    def get_user(self, user_id):
        if get_current_tenant() is None:
            return None
        try:
            user = User.objects.get(pk=user_id)
        except (User.DoesNotExist, ValueError):
            return None
        return user if user.is_active else None
