"""An invitation grants its role only while its issuer could still grant it (checked on use)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.invitations import invitation_create
from accounts.models import Role
from accounts.services import member_update_role
from tenants.context import tenant_scope
from tests.factories import UserFactory
from tests.web.conftest import host

pytestmark = pytest.mark.django_db


def page_status(tenant, token) -> int:
    return Client(HTTP_HOST=host(tenant)).get(f"/invitations/accept/{token}/").status_code


def test_a_demoted_inviters_invitations_stop_granting(tenant_a):
    inviter = UserFactory(tenant=tenant_a, role=Role.OWNER)
    other_owner = UserFactory(tenant=tenant_a, role=Role.OWNER)
    with tenant_scope(tenant_a):
        as_owner = invitation_create(
            tenant=tenant_a, email="o@a.test", role=Role.OWNER, actor=inviter, invited_by=inviter
        ).token
        as_admin = invitation_create(
            tenant=tenant_a, email="a@a.test", role=Role.ADMIN, invited_by=inviter
        ).token
    assert page_status(tenant_a, as_owner) == page_status(tenant_a, as_admin) == 200

    with tenant_scope(tenant_a):
        member_update_role(tenant=tenant_a, member=inviter, role=Role.ADMIN, actor=other_owner)
    assert page_status(tenant_a, as_owner) == 404  # an admin cannot grant ownership
    assert page_status(tenant_a, as_admin) == 200
    response = Client(HTTP_HOST=host(tenant_a)).post(
        f"/invitations/accept/{as_owner}/", {"password": "a-long-password-1"}
    )
    assert response.status_code == 404

    with tenant_scope(tenant_a):
        member_update_role(tenant=tenant_a, member=inviter, role=Role.MEMBER, actor=other_owner)
    assert page_status(tenant_a, as_admin) == 404  # a member grants nothing


def test_an_operator_tokens_invitation_never_grants_ownership(tenant_a):
    with tenant_scope(tenant_a):
        admin = invitation_create(tenant=tenant_a, email="x@a.test", role=Role.ADMIN).token
    assert page_status(tenant_a, admin) == 200
