"""One error shape for every API error: {"error": {"code", "message", "fields"?}}.

Every exception a view can raise is mapped here; anything unexpected is logged
and answered with a bare 500 body (no traceback, no internals).
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, OperationalError
from django.http import Http404
from psycopg.errors import ForeignKeyViolation
from rest_framework import exceptions, status
from rest_framework.response import Response

from accounts.services import AccountError
from billing.limits import FeatureNotInPlan, PlanLimitExceeded
from tenants.capacity import BUSY_RETRY_AFTER, pool_exhausted
from tenants.domains import DomainError
from tenants.fair_share import is_busy_error
from tenants.fence import is_fence_error
from tenants.middleware import busy_refusal, fenced_refusal

logger = logging.getLogger("api")


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


def error_body(code: str, message: str, fields=None, **extra) -> dict:
    error = {"code": code, "message": message, **extra}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _text(detail) -> str:
    if isinstance(detail, list | tuple):
        return " ".join(_text(d) for d in detail)
    if isinstance(detail, dict):
        return " ".join(f"{k}: {_text(v)}" for k, v in detail.items())
    return str(detail)


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {k: [str(x) for x in v] if isinstance(v, list) else v for k, v in detail.items()}
    return {"non_field_errors": [str(x) for x in detail]}


MISSING_REFERENCE = "Does not exist."


def _fk_field(error) -> str:
    """The field of a violated same-tenant key, from its name "<table>_<column>_same_tenant".

    (PostgreSQL leaves the key's values out of the message: the tables are under RLS.)
    """
    table, name = error.diag.table_name or "", error.diag.constraint_name or ""
    match = re.fullmatch(rf"{re.escape(table)}_(\w+?)(?:_id)?_same_tenant", name)
    return match.group(1) if match else "non_field_errors"


def _suspicious_message(exc) -> str:
    if isinstance(exc, TooManyFieldsSent):
        return (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} "
            "query or form fields."
        )
    return "The request could not be understood."


def api_exception_handler(exc, context):
    headers: dict[str, str] = {}
    if isinstance(exc, PlanLimitExceeded | FeatureNotInPlan):
        return Response({"error": exc.as_dict()}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, AccountError | DomainError):  # a refusal may name its status and code
        return Response(
            error_body(getattr(exc, "code", "invalid"), str(exc)),
            status=getattr(exc, "status_code", 400),
        )
    if isinstance(exc, RequestDataTooBig):
        # Django's own request limits (DATA_UPLOAD_MAX_*), raised while DRF reads the body.
        return Response(
            error_body(
                "payload_too_large",
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            ),
            status=413,
        )
    if isinstance(exc, SuspiciousOperation):
        # Too many query or form fields (DATA_UPLOAD_MAX_NUMBER_FIELDS), and the like; logged
        # where Django logs it outside the API.
        logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
        return Response(error_body("bad_request", _suspicious_message(exc)), status=400)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        # Another tenant's object and a missing one are the same answer: no existence oracle.
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, DjangoValidationError):
        # A model-level rule a service enforced (malformed ids never get here: the URL
        # patterns only match UUIDs, so those are 404s).
        fields = exc.message_dict if hasattr(exc, "error_dict") else None
        return Response(error_body("invalid", " ".join(exc.messages), fields), status=400)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, IntegrityError) and isinstance(exc.__cause__, ForeignKeyViolation):
        # A reference to a row that is not this tenant's: another tenant's id and an id
        # that exists nowhere fail the same same-tenant key, and get the same answer.
        field = _fk_field(exc.__cause__)
        return Response(
            error_body("invalid", "The request is invalid.", {field: [MISSING_REFERENCE]}),
            status=400,
        )
    if isinstance(exc, IntegrityError):
        logger.info("integrity error answered as 409: %s", exc)
        return Response(error_body("conflict", "This conflicts with existing data."), status=409)
    if isinstance(exc, DataError):
        return Response(error_body("invalid", "A value is out of range or malformed."), status=400)
    if is_fence_error(exc):
        return fenced_refusal(context["request"]._request, context["request"].tenant)
    if is_busy_error(exc):
        return busy_refusal(context["request"]._request)
    if pool_exhausted(exc):
        # No pooled connection free within the pool's timeout: the process is at its bound.
        return Response(
            error_body("database_busy", "The service is busy. Please retry shortly."),
            status=503,
            headers={"Retry-After": BUSY_RETRY_AFTER},
        )
    if isinstance(exc, OperationalError):
        # Statement timeout (noisy-neighbour guard) or a lost connection: retryable.
        logger.warning("database unavailable or query cancelled: %s", exc)
        return Response(
            error_body("unavailable", "The service is busy. Please retry shortly."),
            status=503,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        return Response(error_body("invalid", "The request is invalid.", fields), status=400)
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
        code = exc.get_codes()
        code = code if isinstance(code, str) else "error"
        if isinstance(exc, exceptions.Throttled):
            code, message = "rate_limited", "Too many requests for your plan's rate limit."
        else:
            message = _text(exc.detail)
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    logger.exception("unhandled API error")
    return Response(error_body("server_error", "Internal error."), status=500)
