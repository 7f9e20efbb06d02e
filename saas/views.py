"""Public pages on the apex domain and the health check."""

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render


def home(request):
    return render(request, "public/home.html")


def healthz(request):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def tls_ask(request):
    """For a TLS proxy issuing certificates on demand (e.g. Caddy's `ask`): 200 only for a
    host this deployment serves — a tenant's verified custom domain on a plan that includes
    it — so nobody can make the proxy request certificates for arbitrary names."""
    from tenants import resolvers

    name = (request.GET.get("domain") or "").strip().lower().rstrip(".")
    match = resolvers.match_host(name)
    if match.kind == resolvers.CUSTOM and resolvers.tenant_for_domain(match.domain) is not None:
        return HttpResponse("ok")
    return HttpResponse("unknown", status=404)
