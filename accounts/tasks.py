"""Emails sent by workers: invitations and password resets (Django's email backend).

Each runs in the tenant it was queued for (tenants.celery), retries transient
mail errors with exponential backoff and jitter, and records a sent-marker in
the audit log so a redelivered message does not send twice (see docs/jobs.md).
"""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from accounts.models import Invitation, User
from audit.models import AuditEvent
from audit.services import audit_record
from tenants.context import require_current_tenant

MAIL_ERRORS = (smtplib.SMTPException, OSError)


def tenant_url(tenant, path: str) -> str:
    scheme = "https" if settings.USE_HTTPS or settings.BASE_DOMAIN != "localhost" else "http"
    return f"{scheme}://{tenant.subdomain}.{settings.BASE_DOMAIN}{path}"


def _already_sent(action: str, target_id) -> bool:
    return AuditEvent.objects.filter(action=action, target_id=str(target_id)).exists()


@shared_task(
    name="accounts.send_invitation_email",
    autoretry_for=MAIL_ERRORS,
    max_retries=6,
)
def send_invitation_email(invitation_id: str, token: str) -> str:
    tenant = require_current_tenant()
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_pending:
        return "skipped: not pending"  # revoked, accepted or expired since it was queued
    if _already_sent("invitation.email_sent", invitation.pk):
        return "skipped: already sent"
    link = tenant_url(tenant, f"/invitations/accept/{token}/")
    inviter = invitation.invited_by.email if invitation.invited_by_id else "An administrator"
    send_mail(
        subject=f"You are invited to {tenant.name}",
        message=(
            f"{inviter} invited you to join {tenant.name} as {invitation.role}.\n\n"
            f"Accept the invitation: {link}\n\n"
            f"The link expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
    audit_record(tenant=tenant, actor="system", action="invitation.email_sent", target=invitation)
    return "sent"


@shared_task(
    name="accounts.send_password_reset_email",
    autoretry_for=MAIL_ERRORS,
    max_retries=6,
)
def send_password_reset_email(user_id: str, reset_path: str) -> str:
    tenant = require_current_tenant()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return "skipped: no such user"
    # No sent-marker: the link is single-use and a duplicate reset mail is harmless.
    send_mail(
        subject=f"Reset your {tenant.name} password",
        message=(
            "Someone asked to reset the password of this account. If it was you, open:\n\n"
            f"{tenant_url(tenant, reset_path)}\n\n"
            "If not, ignore this email; your password stays as it is."
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return "sent"
