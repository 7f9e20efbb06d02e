"""Public pages on the apex domain, and the TLS proxy's on-demand certificate check."""

from django.http import HttpResponse
from django.shortcuts import render


def home(request):
    return render(request, "public/home.html")


def tls_ask(request):
    """For a TLS proxy issuing certificates on demand (e.g. Caddy's `ask`): 200 only for a
    host this deployment serves — a tenant's verified custom domain on a plan that includes
    it — so nobody can make the proxy request certificates for arbitrary names."""
    from tenants import resolvers

    name = (request.GET.get("domain") or "").strip().lower().rstrip(".")
    match = resolvers.match_host(name)
    tenant = resolvers.tenant_for_domain(match.domain) if match.kind == resolvers.CUSTOM else None
    if tenant is not None and tenant.is_active:
        return HttpResponse("ok")
    return HttpResponse("unknown", status=404)
