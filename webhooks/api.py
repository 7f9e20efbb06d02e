"""Webhook endpoints and their delivery log over the API: /api/v1/webhooks/ (admin scope)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import TokenScope
from api.filters import UUID_RE
from api.views import ApiViewMixin
from webhooks import deliveries, endpoints
from webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))
    enabled = serializers.BooleanField(source="is_enabled", read_only=True)
    secret_hint = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "enabled",
            "disabled_reason",
            "consecutive_failures",
            "secret_hint",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointWriteSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), allow_empty=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "response_status", "response_body", "error", "duration_ms"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "response_status",
            "error",
            "next_attempt_at",
            "last_attempt_at",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_attempt_log(self, obj) -> list[dict]:
        attempts = self.context.get("attempts", {}).get(obj.pk, [])
        return AttemptSerializer(attempts, many=True).data


def _refused(exc: endpoints.WebhookError):
    return ValidationError({exc.field: [str(exc)]})


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints", tags=["webhooks"]),
    retrieve=extend_schema(summary="Get a webhook endpoint", tags=["webhooks"]),
    create=extend_schema(
        summary="Register a webhook endpoint (the answer holds its secret, once)",
        tags=["webhooks"],
        request=EndpointWriteSerializer,
        responses={201: EndpointCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a webhook endpoint (url, events, description, enabled)",
        tags=["webhooks"],
        request=EndpointWriteSerializer,
    ),
    destroy=extend_schema(summary="Remove a webhook endpoint", tags=["webhooks"]),
    rotate_secret=extend_schema(
        summary="Replace the signing secret (the answer holds the new one, once)",
        tags=["webhooks"],
        request=None,
        responses={200: EndpointCreatedSerializer},
    ),
)
class WebhookViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EndpointSerializer
    required_scope = TokenScope.ADMIN
    lookup_value_regex = UUID_RE
    # The signing secret is shown once: a replayed create or rotation answers it as null.
    idempotency_redact = ("secret",)
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def tenant_queryset(self):
        return endpoints.endpoint_list(tenant=self.request.tenant)

    def create(self, request, *args, **kwargs):
        data = EndpointWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            endpoint = endpoints.endpoint_create(
                tenant=request.tenant,
                url=data.validated_data["url"],
                events=data.validated_data["events"],
                description=data.validated_data.get("description", ""),
                actor=request.user,
            )
        except endpoints.WebhookError as exc:
            raise _refused(exc) from None
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        data = EndpointWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "enabled" in changes:
            changes["is_enabled"] = changes.pop("enabled")
        try:
            endpoint = endpoints.endpoint_update(
                tenant=request.tenant, endpoint=self.get_object(), actor=request.user, **changes
            )
        except endpoints.WebhookError as exc:
            raise _refused(exc) from None
        return Response(EndpointSerializer(endpoint).data)

    def destroy(self, request, *args, **kwargs):
        endpoints.endpoint_delete(
            tenant=request.tenant, endpoint=self.get_object(), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, *args, **kwargs):
        endpoint = endpoints.endpoint_rotate_secret(
            tenant=request.tenant, endpoint=self.get_object(), actor=request.user
        )
        return Response(EndpointCreatedSerializer(endpoint).data)


_webhook_pk = OpenApiParameter("webhook_pk", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="An endpoint's deliveries, newest first, with every attempt's response",
        tags=["webhooks"],
        parameters=[_webhook_pk],
    ),
    retrieve=extend_schema(summary="Get a delivery", tags=["webhooks"], parameters=[_webhook_pk]),
    resend=extend_schema(
        summary="Send the delivery's event again (a new delivery)",
        tags=["webhooks"],
        parameters=[_webhook_pk],
        request=None,
        responses={202: DeliverySerializer},
    ),
)
class DeliveryViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = DeliverySerializer
    required_scope = TokenScope.ADMIN
    lookup_value_regex = UUID_RE

    def get_endpoint(self) -> WebhookEndpoint:
        if not hasattr(self, "_endpoint"):
            endpoint = (
                endpoints.endpoint_list(tenant=self.request.tenant)
                .filter(pk=self.kwargs["webhook_pk"])
                .first()
            )
            if endpoint is None:
                raise Http404
            self._endpoint = endpoint
        return self._endpoint

    def tenant_queryset(self):
        return deliveries.delivery_list(tenant=self.request.tenant, endpoint=self.get_endpoint())

    def get_serializer(self, *args, **kwargs):
        rows = args[0] if args else None
        if rows is not None:
            rows = list(rows) if not isinstance(rows, WebhookDelivery) else [rows]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["attempts"] = deliveries.attempts_of(
                tenant=self.request.tenant, deliveries=rows
            )
        return super().get_serializer(*args, **kwargs)

    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        try:
            row = deliveries.delivery_resend(
                tenant=request.tenant, delivery=self.get_object(), actor=request.user
            )
        except endpoints.WebhookError as exc:
            raise _refused(exc) from None
        return Response(
            DeliverySerializer(row, context={"attempts": {}}).data,
            status=status.HTTP_202_ACCEPTED,
        )
