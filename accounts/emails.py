"""The mails sent to people of a tenant, rendered from accounts/templates/accounts/email/.

Only the tasks in accounts/tasks.py and webhooks/tasks.py call these (queued by services
through the outbox): one path per mail, one text, links from tenants.links.tenant_url.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string


def invitation_email_send(*, tenant, email: str, accept_url: str, inviter: str, expires_at) -> None:
    context = {
        "tenant_name": tenant.name,
        "accept_url": accept_url,
        "inviter": inviter or "An administrator",
        "expires_at": expires_at,
    }
    send_mail(
        subject=f"You are invited to {tenant.name}",
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


def webhook_disabled_email_send(*, tenant, emails: list[str], host: str, reason: str, manage_url):
    context = {
        "tenant_name": tenant.name,
        "host": host,
        "reason": reason,
        "manage_url": manage_url,
    }
    send_mail(
        subject=f"{tenant.name}: a webhook endpoint was disabled",
        message=render_to_string("accounts/email/webhook_disabled.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=emails,
    )
