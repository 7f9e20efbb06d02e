"""Invitations against concurrent changes of who sent them: decided one after the other, never
beside each other (real transactions on separate connections)."""

from __future__ import annotations

import threading

import pytest

from accounts import services
from accounts.invitations import invitation_accept, invitation_create
from accounts.models import Invitation, Role, User
from accounts.services import AccountError, member_remove
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.overlap import pause_in, run_overlapping

pytestmark = pytest.mark.slow


def test_an_invitation_is_not_accepted_while_its_sender_is_being_removed(
    committed_db, monkeypatch, settings
):
    """The accept waited on the invitation row the removal had just revoked, then wrote over it
    once the removal committed: a member let in by someone no longer there, the invitation
    both revoked and accepted. Now the sender's row is locked first, by both."""
    settings.TENANT_DB_SERVER_CORES = 8  # four slots: on 2 cores a tenant's transactions take turns
    tenant = TenantFactory(subdomain=unique_subdomain("race"))
    owner = UserFactory(tenant=tenant, role=Role.OWNER)
    sender = UserFactory(tenant=tenant, role=Role.ADMIN)
    with tenant_scope(tenant):
        issued = invitation_create(
            tenant=tenant, email="late@race.test", role=Role.ADMIN, actor=sender, invited_by=sender
        )
    # The removal's transaction stays open at its audit row, the invitation revoked.
    revoked, release = pause_in(monkeypatch, services, "audit_record", "remove")
    outcome = {}

    def remove():
        with tenant_scope(tenant):
            member_remove(tenant=tenant, member=sender, actor=owner)

    def accept():
        try:
            with tenant_scope(tenant):
                invitation_accept(tenant=tenant, token=issued.token, password="a-long-password-1")
            outcome["accept"] = "accepted"
        except AccountError:
            outcome["accept"] = "refused"

    remover = threading.Thread(target=remove, name="remove")
    accepter = threading.Thread(target=accept, name="accept")
    run_overlapping(remover, accepter, revoked, release)
    assert outcome == {"accept": "refused"}
    with tenant_scope(tenant):
        assert not User.objects.filter(tenant_id=tenant.pk, email="late@race.test").exists()
        row = Invitation.objects.get(pk=issued.invitation.pk)
        assert row.revoked_at is not None and row.accepted_at is None
