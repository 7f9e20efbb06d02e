"""Template context: the tenant of the request and the service's base domain."""

from django.conf import settings


def tenant(request):
    return {
        "tenant": getattr(request, "tenant", None),
        "base_domain": settings.BASE_DOMAIN,
    }
