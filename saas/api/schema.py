"""OpenAPI: the bearer scheme and the error responses every operation can give."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


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
ERRORS_WRITE = {"400": "Invalid input", "409": "Conflict with existing data"}
ERRORS_UPDATE = {"412": "If-Match does not match the current ETag"}


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        extra = dict(ERRORS_ALL)
        extra["400"] = "Invalid input or query"
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            extra.update(ERRORS_WRITE)
        if self.method in ("PUT", "PATCH", "DELETE"):
            extra.update(ERRORS_UPDATE)
        for code, description in extra.items():
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = description
                responses[code] = body
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "saas.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tntr_<key_id>_<secret>",
            "description": "A per-organisation API token, valid only on its organisation's host.",
        }
