"""OpenAPI: the bearer scheme and the error responses every operation can give."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from idempotency.services import HEADER, REPLAY_HEADER


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine-readable, e.g. not_found, plan_limit_exceeded")
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="per-field messages for code=invalid")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERRORS_ALL = {
    "401": "Missing, invalid, expired or revoked token",
    "403": "Scope too small, plan feature missing or plan limit reached",
    "404": "Not found (also for another organisation's objects)",
    "414": "Path and query string longer than 4,096 characters (code uri_too_long)",
    "429": "Rate limit of the plan reached",
    "503": (
        "Briefly unavailable (no database connection free in time: code database_busy; "
        "or the organisation's database unreachable); retry after Retry-After seconds"
    ),
}
ERRORS_WRITE = {
    "400": "Invalid input or Idempotency-Key",
    "409": "Conflict with existing data",
    "413": "Body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB (code payload_too_large)",
    "415": "Body not JSON (code unsupported_media_type)",
    "422": "Idempotency-Key already used for a different request",
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retry safe: the first response to this key (per token, 24 h) is stored and "
        f"replayed, with `{REPLAY_HEADER}: true`. The same key with another method, path or "
        "body is refused with 422. See docs/api.md."
    ),
)
ERRORS_UPDATE = {
    "412": (
        "If-Match does not match the current ETag (strong comparison; on a resource without "
        "an ETag, any If-Match but *)"
    )
}


class ApiAutoSchema(AutoSchema):
    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method in WRITE_METHODS:
            params.append(IDEMPOTENCY_KEY)
        return params

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        extra = dict(ERRORS_ALL)
        extra["400"] = "Invalid input or query"
        if self.method in WRITE_METHODS:
            extra.update(ERRORS_WRITE)
        if self.method in ("PUT", "PATCH", "DELETE"):
            extra.update(ERRORS_UPDATE)
        for code, description in extra.items():
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = description
                responses[code] = body
        if "201" in responses:
            headers = responses["201"].setdefault("headers", {})
            headers["Location"] = {
                "schema": {"type": "string", "format": "uri"},
                "description": "the created object's URL",
            }
        if self.method in WRITE_METHODS:
            for code, body in responses.items():
                if code.startswith("2"):
                    body.setdefault("headers", {})[REPLAY_HEADER] = {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": "present when this is a stored response replayed",
                    }
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tntr_<key_id>_<secret>",
            "description": "A per-organisation API token, valid only on its organisation's host.",
        }
