"""Absolute URLs on a tenant's host: the one builder for views, tasks and emails."""

from __future__ import annotations

from django.conf import settings


def _port(request=None) -> str:
    # The configured public port wins: a worker has no request, and a mail must carry the
    # same link whoever builds it. Without one, a URL answered to a request keeps its port.
    configured = getattr(settings, "PUBLIC_PORT", None)
    if configured:
        port = str(configured)
    elif request is not None and ":" in request.get_host():
        port = request.get_host().rsplit(":", 1)[1]
    else:
        return ""
    default = "443" if settings.USE_HTTPS else "80"
    return "" if port == default else f":{port}"


def tenant_url(tenant, path: str = "/", *, request=None) -> str:
    """`http(s)://<subdomain>.<BASE_DOMAIN>[:port]<path>` (scheme from USE_HTTPS, port from
    PUBLIC_PORT, else the request's)."""
    scheme = "https" if settings.USE_HTTPS else "http"
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{tenant.subdomain}.{settings.BASE_DOMAIN}{_port(request)}{path}"
