"""A session belongs to the tenant it was created on; anywhere else it is void."""

from django.contrib.auth import logout

SESSION_TENANT_KEY = "_tenant_id"


class SessionTenantMiddleware:
    """Belt and braces on top of RLS (which already hides foreign session rows)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        session = getattr(request, "session", None)
        if session is not None and tenant is not None:
            owner = session.get(SESSION_TENANT_KEY)
            if owner is not None and owner != str(tenant.pk):
                logout(request)
            elif owner is None and request.user.is_authenticated:
                session[SESSION_TENANT_KEY] = str(tenant.pk)
        return self.get_response(request)


def bind_session_to_tenant(sender, request, user, **kwargs):
    """On login (after Django rotated the session key), record the session's tenant."""
    tenant = getattr(request, "tenant", None)
    if tenant is not None and hasattr(request, "session"):
        request.session[SESSION_TENANT_KEY] = str(tenant.pk)
