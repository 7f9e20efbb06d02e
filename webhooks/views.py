"""The webhooks pages of a tenant's admin UI: endpoints, the secret (once), the delivery log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import shown_once
from accounts.permissions import admin_required
from webhooks import deliveries, endpoints
from webhooks.models import EventType

NEW_SECRET = "webhook_secret"  # the shown_once slot of a new or rotated signing secret
LOG_ROWS = 50


class EndpointForm(forms.Form):
    url = forms.CharField(
        max_length=2000,
        label="URL",
        help_text="Where events are POSTed; https recommended. Public addresses only.",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(EventType.values),
    )


def _endpoint(request, endpoint_id):
    return get_object_or_404(endpoints.endpoint_list(tenant=request.tenant), pk=endpoint_id)


def _show_secret_next(request, endpoint):
    # Post/redirect/get: the secret crosses the redirect sealed (accounts/shown_once.py).
    payload = {"id": str(endpoint.pk), "secret": endpoint.secret}
    return shown_once.carry(request, redirect("webhook_detail", endpoint.pk), NEW_SECRET, payload)


@admin_required
def webhooks(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = endpoints.endpoint_create(
                tenant=request.tenant,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                actor=request.user,
            )
        except endpoints.WebhookError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            return _show_secret_next(request, endpoint)
    return render(
        request,
        "webhooks/webhooks.html",
        {"form": form, "endpoints": endpoints.endpoint_list(tenant=request.tenant)},
        status=400 if form.errors else 200,
    )


@admin_required
def webhook_detail(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    issued = shown_once.take(request, NEW_SECRET)
    if issued and issued.get("id") != str(endpoint.pk):
        issued = None
    log = list(deliveries.delivery_list(tenant=request.tenant, endpoint=endpoint)[:LOG_ROWS])
    attempts = deliveries.attempts_of(tenant=request.tenant, deliveries=log)
    rows = [{"delivery": d, "attempts": attempts.get(d.pk, [])} for d in log]
    response = render(
        request,
        "webhooks/webhook_detail.html",
        {
            "endpoint": endpoint,
            "issued": issued,
            "rows": rows,
            "event_labels": [EventType(e).label for e in endpoint.events if e in EventType.values],
        },
    )
    return shown_once.forget(request, response, NEW_SECRET)


@admin_required
@require_POST
def webhook_toggle(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    enable = not endpoint.is_enabled
    endpoints.endpoint_update(
        tenant=request.tenant, endpoint=endpoint, actor=request.user, is_enabled=enable
    )
    messages.success(request, f"Endpoint {'enabled' if enable else 'disabled'}.")
    return redirect("webhook_detail", endpoint.pk)


@admin_required
@require_POST
def webhook_rotate(request, endpoint_id):
    endpoint = endpoints.endpoint_rotate_secret(
        tenant=request.tenant, endpoint=_endpoint(request, endpoint_id), actor=request.user
    )
    return _show_secret_next(request, endpoint)


@admin_required
@require_POST
def webhook_delete(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    endpoints.endpoint_delete(tenant=request.tenant, endpoint=endpoint, actor=request.user)
    messages.success(request, f"Endpoint {endpoint.host} removed.")
    return redirect("webhooks")


@admin_required
@require_POST
def webhook_resend(request, endpoint_id, delivery_id):
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(
        deliveries.delivery_list(tenant=request.tenant, endpoint=endpoint), pk=delivery_id
    )
    try:
        deliveries.delivery_resend(tenant=request.tenant, delivery=delivery, actor=request.user)
    except endpoints.WebhookError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{delivery.event_type} queued again.")
    return redirect("webhook_detail", endpoint.pk)
