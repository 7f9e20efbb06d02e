"""Emails sent by workers: invitations and password resets, the only path either mail takes.

Queued by services through the outbox (tenants.outbox), each runs in the
tenant of its outbox row and at most once per row; transient mail errors are
retried with exponential backoff and jitter (see docs/jobs.md).
"""

from __future__ import annotations

import smtplib

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.emails import invitation_email_send, password_reset_email_send
from accounts.invitations import SEND_TASK, invitation_token
from accounts.models import Invitation, User
from audit.services import audit_record
from tenants.context import require_current_tenant
from tenants.links import tenant_url
from tenants.outbox import outbox_task

MAIL_ERRORS = (smtplib.SMTPException, OSError)
TENANT_URLCONF = "saas.urls_tenant"


def invitation_accept_path(token: str) -> str:
    return reverse("invitation_accept", kwargs={"token": token}, urlconf=TENANT_URLCONF)


def password_reset_path(user: User) -> str:
    """The single-use reset link's path, made when the mail is sent (never stored)."""
    return reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
        urlconf=TENANT_URLCONF,
    )


@outbox_task(name=SEND_TASK, autoretry_for=MAIL_ERRORS, max_retries=6)
def send_invitation_email(invitation_id: str, legacy_token: str | None = None) -> str:
    """Mail the invitation's link; its token is made here from the row, never carried in.

    `legacy_token`: only in rows queued before tokens were derived (a finished row's
    arguments are cleared, so it goes away with them); remove once none is left.
    """
    tenant = require_current_tenant()
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_pending:
        return "skipped: not pending"  # revoked, accepted or expired since it was queued
    token = invitation_token(invitation=invitation, legacy_token=legacy_token)
    invitation_email_send(
        tenant=tenant,
        email=invitation.email,
        accept_url=tenant_url(tenant, invitation_accept_path(token)),
        inviter=invitation.invited_by.email if invitation.invited_by_id else "",
        expires_at=invitation.expires_at,
    )
    audit_record(tenant=tenant, actor="system", action="invitation.email_sent", target=invitation)
    return "sent"


@outbox_task(name="accounts.send_password_reset_email", autoretry_for=MAIL_ERRORS, max_retries=6)
def send_password_reset_email(user_id: str) -> str:
    tenant = require_current_tenant()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return "skipped: no such user"
    password_reset_email_send(
        tenant=tenant, email=user.email, reset_url=tenant_url(tenant, password_reset_path(user))
    )
    return "sent"
