"""An invitation's token travels in no task argument: the task makes it again from the row.

In-process (the on-commit relay runs the task eagerly), as tests/accounts/test_mail_once.py.
"""

from __future__ import annotations

import secrets
import uuid

import pytest
from django.utils import timezone

from accounts.invitations import (
    INVITATION_TTL,
    TokenUnavailable,
    invitation_create,
    invitation_token,
)
from accounts.models import Invitation
from accounts.services import _sha256
from tenants.context import tenant_scope
from tenants.models import OutboxMessage
from tenants.outbox import outbox_enqueue
from tenants.transactions import tenant_atomic


def _rows(tenant):
    with tenant_scope(tenant):
        return list(OutboxMessage.objects.filter(tenant_id=tenant.pk).order_by("created_at"))


def test_the_outbox_refuses_any_argument_but_an_id_and_does_not_echo_it(tenant_a):
    from accounts.tasks import send_invitation_email

    secret = secrets.token_urlsafe(32)
    with tenant_scope(tenant_a), tenant_atomic():
        for bad in ([str(uuid.uuid4()), secret], [{"token": secret}], ["a@b.test"]):
            with pytest.raises(ValueError, match="never by an email address, a token") as err:
                outbox_enqueue(send_invitation_email, *bad)
            assert secret not in str(err.value)
        with pytest.raises(ValueError):
            outbox_enqueue(send_invitation_email, str(uuid.uuid4()), token=secret)
        row = outbox_enqueue(send_invitation_email, uuid.uuid4(), 7, True, None)
        assert isinstance(row.args[0], str)


def test_the_mailed_token_is_the_one_returned_and_no_row_held_it(
    tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, tenant_scope(tenant_a):
        issued = invitation_create(tenant=tenant_a, email="derive@alpha.test")
        [row] = _rows(tenant_a)
        assert row.args == [str(issued.invitation.pk)] and row.kwargs == {}
    assert callbacks
    [message] = mailoutbox
    assert f"/invitations/accept/{issued.token}/" in message.body
    assert len(issued.token) == 43 and issued.invitation.token_hash == _sha256(issued.token)


def test_a_rotated_secret_key_still_makes_the_token_from_its_fallbacks(tenant_a, settings):
    with tenant_scope(tenant_a):
        issued = invitation_create(tenant=tenant_a, email="rotate@alpha.test")
        invitation = Invitation.objects.get(pk=issued.invitation.pk)
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "n" * 50, [old]
    assert invitation_token(invitation=invitation) == issued.token
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(TokenUnavailable):
        invitation_token(invitation=invitation)


def test_a_row_queued_before_tokens_were_derived_still_mails_its_token(
    tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    from accounts.tasks import send_invitation_email
    from tenants.outbox import outbox_publish

    legacy = secrets.token_urlsafe(32)  # random, as invitations were issued before
    with tenant_scope(tenant_a):
        invitation = Invitation.objects.create(
            tenant_id=tenant_a.pk,
            email="legacy@alpha.test",
            token_hash=_sha256(legacy),
            expires_at=timezone.now() + INVITATION_TTL,
        )
        row = OutboxMessage.objects.create(  # as the old outbox_enqueue wrote it
            tenant_id=tenant_a.pk,
            task=send_invitation_email.name,
            args=[str(invitation.pk), legacy],
            kwargs={},
        )
        outbox_publish(tenant=tenant_a, ids=[row.pk])
    [message] = mailoutbox
    assert f"/invitations/accept/{legacy}/" in message.body
    [row] = _rows(tenant_a)
    assert row.status == "done" and row.args == []
