"""Error pages for the apex, tenant and operator hosts; JSON under /api/.

Django looks the handlers up in the request's URLconf, so every host's URLconf names these.
The pages extend the plain base (no navigation, no user lookup): an error page must not
need the database that may be the cause of the error.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from tenants.responses import wants_json

PAGES = {
    400: ("Bad request", "The request could not be understood.", "bad_request"),
    403: ("Not allowed", "You do not have access to this page.", "permission_denied"),
    404: ("Page not found", "There is nothing at this address.", "not_found"),
    405: (
        "Not available this way",
        "This address does not accept that kind of request. Use the page's own buttons.",
        "method_not_allowed",
    ),
    413: ("Request too large", "The request is larger than this site accepts.", "too_large"),
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


def _page(request, status: int, message: str | None = None) -> HttpResponse:
    title, default, code = PAGES.get(status) or _generic(status)
    message = message or default
    if wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    context = {"status": status, "title": title, "message": message, **_where(request)}
    # No request context: context processors would query (user, session) on a failing system.
    return HttpResponse(render_to_string("errors/error.html", context), status=status)


def _generic(status: int) -> tuple[str, str, str]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if status >= 500:
        return PAGES[500]
    return phrase, "The request could not be completed.", phrase.lower().replace(" ", "_")


def error_page(request, status: int) -> HttpResponse:
    """The page (or API error) for a status, for responses that were sent without a body."""
    return _page(request, status)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a stale or cookieless form, said plainly (Django's reason is logged)."""
    return _page(
        request,
        403,
        "This form could not be verified: it may have expired, or cookies are blocked. "
        "Reload the page and try again.",
    )


def bad_request(request, exception=None):
    return _page(request, 400)


def permission_denied(request, exception=None):
    return _page(request, 403)


def not_found(request, exception=None):
    return _page(request, 404)


def server_error(request):
    return _page(request, 500)
