"""Emails sent to people of a tenant. Synchronous for now; the jobs app turns these into tasks."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string


def tenant_base_url(tenant, request=None) -> str:
    """http(s)://<subdomain>.<BASE_DOMAIN>[:port] — the port taken from the request, if any."""
    scheme = "https" if settings.USE_HTTPS else "http"
    port = ""
    if request is not None:
        host = request.get_host()
        if ":" in host:
            port = ":" + host.rsplit(":", 1)[1]
    return f"{scheme}://{tenant.subdomain}.{settings.BASE_DOMAIN}{port}"


def invitation_email_send(*, tenant, email: str, accept_url: str, invited_by=None) -> None:
    context = {
        "tenant_name": tenant.name,
        "accept_url": accept_url,
        "inviter": getattr(invited_by, "email", None) or "An administrator",
    }
    send_mail(
        subject=f"You are invited to {tenant.name} on Tenantry",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


def password_reset_email_send(*, tenant, email: str, reset_url: str) -> None:
    context = {"tenant_name": tenant.name, "reset_url": reset_url}
    send_mail(
        subject=f"Reset your {tenant.name} password",
        message=render_to_string("accounts/email/password_reset.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
