"""`Idempotency-Key` on API writes: the view's dispatch, with the key claimed in the write's transaction.

Order: authentication, rate limit and permissions run first (their 401/403/429
are never stored: they did not use the key); then, for an unsafe method with
the header, one transaction holds the key claim, the handler (in a savepoint)
and the stored response. A 5xx rolls the whole transaction back: no record, no
write, and the key stays free for the retry.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.http import HttpResponse
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS

from idempotency.services import (
    HEADER,
    REPLAY_HEADER,
    InvalidKey,
    KeyInProgress,
    KeyReused,
    idempotency_claim,
    idempotency_store,
    key_validate,
)
from tenants.routers import data_alias
from tenants.transactions import tenant_atomic


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was already used for a different request "
        "(method, path or body). Use a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class IdempotencyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still in progress. Retry shortly."
    default_code = "idempotency_in_progress"


def _credential(request) -> str:
    key_id = getattr(request.auth, "key_id", None)
    if key_id:
        return f"token:{key_id}"
    return f"user:{request.user.pk}"


def _replay(record) -> HttpResponse:
    response = HttpResponse(record.body, status=record.status_code)
    if "Content-Type" not in record.headers:
        del response["Content-Type"]
    for name, value in record.headers.items():
        response[name] = value
    response[REPLAY_HEADER] = "true"
    return response


class IdempotentDispatchMixin:
    """DRF's `APIView.dispatch` with the handler call routed through `call_handler`."""

    #: Response fields never stored (one-time secrets): a replay returns them as null.
    idempotency_redact: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        # Same steps as rest_framework.views.APIView.dispatch (3.x).
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            response = self.call_handler(handler, request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def call_handler(self, handler, request, *args, **kwargs):
        raw = request.headers.get(HEADER)
        if raw is None or request.method in SAFE_METHODS:
            return handler(request, *args, **kwargs)
        try:
            key = key_validate(raw)
        except InvalidKey as exc:
            raise exceptions.ValidationError({HEADER: [str(exc)]}) from None
        django_request = request._request
        body_sha256 = hashlib.sha256(django_request.body).hexdigest()
        with tenant_atomic():
            try:
                claim = idempotency_claim(
                    tenant=request.tenant,
                    credential=_credential(request),
                    key=key,
                    method=request.method,
                    path=django_request.get_full_path(),
                    body_sha256=body_sha256,
                )
            except KeyReused:
                raise IdempotencyKeyReused() from None
            except KeyInProgress:
                raise IdempotencyInProgress() from None
            if claim.replay:
                return _replay(claim.record)
            try:
                # A savepoint: a failing handler (even a database error) leaves the
                # outer transaction usable for storing its 4xx answer.
                with tenant_atomic():
                    response = handler(request, *args, **kwargs)
            except Exception as exc:
                response = self.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True, using=data_alias())
                return response
            # Render now (finalize_response runs again in dispatch; it is idempotent).
            response = self.finalize_response(request, response, *args, **kwargs)
            response.render()
            idempotency_store(
                claim=claim,
                status_code=response.status_code,
                headers=dict(response.items()),
                body=self._stored_body(response),
            )
        return response

    def _stored_body(self, response) -> bytes:
        data = getattr(response, "data", None)
        redact = [f for f in self.idempotency_redact if isinstance(data, dict) and f in data]
        if not redact:
            return response.content
        return response.accepted_renderer.render(
            {**data, **dict.fromkeys(redact)},
            response.accepted_media_type,
            response.renderer_context,
        )
