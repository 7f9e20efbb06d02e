"""Error pages (400/403/404/500) for the apex, tenant and operator hosts; JSON under /api/.

Django looks the handlers up in the request's URLconf, so every host's URLconf names these.
The pages extend the plain base (no navigation, no user lookup): an error page must not
need the database that may be the cause of the error.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from tenants.responses import wants_json

PAGES = {
    400: ("Bad request", "The request could not be understood.", "bad_request"),
    403: ("Not allowed", "You do not have access to this page.", "permission_denied"),
    404: ("Page not found", "There is nothing at this address.", "not_found"),
    500: (
        "Something went wrong",
        "The error has been logged. Please try again in a moment.",
        "server_error",
    ),
}


def _where(request) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        return {"site": tenant.name, "links": [("/", "Dashboard"), ("/accounts/login/", "Sign in")]}
    if getattr(request, "urlconf", None) == settings.OPERATOR_URLCONF:
        return {"site": "Tenantry operator console", "links": [("/", "Tenants")]}
    return {"site": "Tenantry", "links": [("/", "Home"), ("/signup/", "Create an organisation")]}


def _page(request, status: int) -> HttpResponse:
    title, message, code = PAGES[status]
    if wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    context = {"status": status, "title": title, "message": message, **_where(request)}
    # No request context: context processors would query (user, session) on a failing system.
    return HttpResponse(render_to_string("errors/error.html", context), status=status)


def bad_request(request, exception=None):
    return _page(request, 400)


def permission_denied(request, exception=None):
    return _page(request, 403)


def not_found(request, exception=None):
    return _page(request, 404)


def server_error(request):
    return _page(request, 500)
