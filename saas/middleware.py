"""Refusals for what the app can see of a request's limits (URI length, database capacity), and
a body for every error response."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception

from saas.errors import error_page
from tenants.capacity import BUSY_RETRY_AFTER, pool_exhausted
from tenants.responses import refusal

logger = logging.getLogger("saas.middleware")


def busy_response(request):
    return refusal(
        request,
        503,
        "database_busy",
        "The service is busy. Please retry shortly.",
        {"Retry-After": BUSY_RETRY_AFTER},
    )


class RequestLimitsMiddleware:
    """A URI longer than MAX_URI_LENGTH gets 414 in the error shape.

    The HTTP server's own request-line limit (gunicorn.conf.py) is set above
    this one, so every URI the server accepts and the app refuses is answered
    here, as JSON for the API and as the refusal page for browsers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            # PostgreSQL text cannot hold NUL: refused here, once, for every form and query.
            return refusal(request, 400, "invalid_input", "The request contains a NUL character.")
        length = len(request.META.get("PATH_INFO", "")) + len(request.META.get("QUERY_STRING", ""))
        if length > settings.MAX_URI_LENGTH:
            return refusal(
                request,
                414,
                "uri_too_long",
                f"The address (path and query string) is longer than "
                f"{settings.MAX_URI_LENGTH} characters.",
            )
        return self.get_response(request)


def _has_nul(request) -> bool:
    if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
        return True
    # Urlencoded forms only: parsing a multipart body here would consume the upload
    # stream (and turn a malformed one into a logged error before any view).
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        return any("\x00" in v for values in request.POST.lists() for v in values[1])
    return False


class DatabaseBusyMiddleware:
    """A request that could not get a pooled database connection in time answers 503 + Retry-After.

    Sits just inside TenantMiddleware, so running out of connections is not
    mistaken for a tenant's database being down (no circuit breaker trip).
    Views: process_exception. Middleware further in (sessions, auth): Django
    has already turned their exception into a 500 when it gets here, so the
    exception is noted on the request as Django reports it, and the 500 replaced.
    The API maps the same condition in api.exceptions.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(_note_pool_timeout, dispatch_uid="saas.database_busy")

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, "_database_busy", False):
            return busy_response(request)
        return response

    def process_exception(self, request, exception):
        if not pool_exhausted(exception):
            return None
        logger.warning("no database connection free in time: %s", exception)
        return busy_response(request)


def _note_pool_timeout(sender, request=None, **kwargs):
    # Sent by Django's exception handling, inside the `except` that caught it.
    if request is not None and pool_exhausted(sys.exc_info()[1]):
        request._database_busy = True


class ErrorBodyMiddleware:
    """An error response sent without a body (a 405 from `require_POST`, a bare
    `HttpResponseForbidden()`) gets the styled page, or the error shape under /api/.

    Inside TenantMiddleware, so the page names the tenant's site. Headers such as
    `Allow` are kept.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or response.streaming
            or response.content
            or request.method == "HEAD"
        ):
            return response
        page = error_page(request, response.status_code)
        for header, value in response.items():
            if header.lower() not in ("content-type", "content-length"):
                page[header] = value
        return page
