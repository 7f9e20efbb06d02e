"""Content-Security-Policy for every response: no inline script, no framing, forms stay home."""

from django.conf import settings


def content_security_policy() -> str:
    # Sign-up posts on the apex and redirects to the new tenant's host; Chromium
    # applies form-action to that redirect, so the tenant hosts are allowed too.
    scheme = "https" if settings.USE_HTTPS else "http"
    tenant_hosts = f"{scheme}://*.{settings.BASE_DOMAIN}:*"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action 'self' {tenant_hosts}",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy)
        return response
