"""Every tenant page: anonymous -> sign-in, member vs admin vs owner, foreign ids -> 404."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from accounts.invitations import invitation_create
from accounts.models import ApiToken, Invitation, User
from accounts.services import token_create
from tenants.context import tenant_scope
from tests.factories import ProjectFactory, TaskFactory, UserFactory
from tests.web.conftest import host, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(tenant_a, owner, admin, member):
    project = ProjectFactory(tenant=tenant_a)
    task = TaskFactory(tenant=tenant_a, project=project)
    with tenant_scope(tenant_a):
        token = token_create(tenant=tenant_a, name="ci", scopes=["read"]).token
        invitation = invitation_create(tenant=tenant_a, email="new@alpha.test").invitation
    return {
        "project": project,
        "task": task,
        "token": token,
        "invitation": invitation,
        "member": member,
    }


def pages(o):
    """(method, path, who may open it) for every tenant page that needs a sign-in."""
    p, t = o["project"].pk, o["task"].pk
    return [
        ("get", "/", "member"),
        ("get", "/projects/", "member"),
        ("get", "/projects/new/", "member"),
        ("get", f"/projects/{p}/", "member"),
        ("get", f"/projects/{p}/edit/", "member"),
        ("get", f"/projects/{p}/delete/", "member"),
        ("get", f"/projects/{p}/tasks/{t}/edit/", "member"),
        ("get", "/members/", "admin"),
        ("post", f"/members/{o['member'].pk}/role/", "admin"),
        ("post", f"/members/{o['member'].pk}/remove/", "admin"),
        ("post", f"/members/invitations/{o['invitation'].pk}/revoke/", "admin"),
        ("get", "/tokens/", "admin"),
        ("post", f"/tokens/{o['token'].pk}/revoke/", "admin"),
        ("get", "/billing/", "admin"),
        ("get", "/audit/", "admin"),
    ]


def test_anonymous_is_sent_to_sign_in_on_every_page(tenant_a, objects):
    client = Client(HTTP_HOST=host(tenant_a))
    for method, path, _ in pages(objects):
        response = getattr(client, method)(path)
        assert response.status_code == 302, (method, path)
        assert response["Location"].startswith("/accounts/login/?next="), path


def test_member_reaches_projects_and_is_refused_admin_pages(tenant_a, objects, member):
    client = signed_in(tenant_a, member)
    for method, path, who in pages(objects):
        # Read-only checks: POSTs the member is refused have no effect; GETs change nothing.
        response = getattr(client, method)(path, {"role": "member"} if method == "post" else None)
        if who == "member":
            assert response.status_code == 200, path
        else:
            assert response.status_code == 403, path
            assert "Only owners and admins" in response.content.decode()
    # The refused POSTs changed nothing.
    with tenant_scope(tenant_a):
        assert ApiToken.objects.get(pk=objects["token"].pk).revoked_at is None
        assert Invitation.objects.get(pk=objects["invitation"].pk).revoked_at is None


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_open_every_page(tenant_a, objects, role, request):
    client = signed_in(tenant_a, request.getfixturevalue(role))
    for method, path, _ in pages(objects):
        if method == "post":
            continue  # the writes are covered in test_pages.py
        assert client.get(path).status_code == 200, path


def test_member_nav_hides_admin_sections(tenant_a, member, admin):
    body = signed_in(tenant_a, member).get("/").content.decode()
    assert 'href="/projects/"' in body and 'href="/tokens/"' not in body
    body = signed_in(tenant_a, admin).get("/").content.decode()
    assert 'href="/tokens/"' in body and 'href="/members/"' in body


def test_another_tenants_ids_are_404(tenant_a, tenant_b, admin):
    other_owner = UserFactory(tenant=tenant_b, email="owner@beta.test")
    other_project = ProjectFactory(tenant=tenant_b)
    other_task = TaskFactory(tenant=tenant_b, project=other_project)
    with tenant_scope(tenant_b):
        other_token = token_create(tenant=tenant_b, name="x", scopes=["read"]).token
        other_inv = invitation_create(tenant=tenant_b, email="z@beta.test").invitation
    client = signed_in(tenant_a, admin)
    p, t = other_project.pk, other_task.pk
    for method, path in [
        ("get", f"/projects/{p}/"),
        ("get", f"/projects/{p}/edit/"),
        ("get", f"/projects/{p}/delete/"),
        ("post", f"/projects/{p}/delete/"),
        ("get", f"/projects/{p}/tasks/{t}/edit/"),
        ("post", f"/projects/{p}/tasks/{t}/delete/"),
        ("post", f"/members/{other_owner.pk}/role/"),
        ("post", f"/members/{other_owner.pk}/remove/"),
        ("post", f"/members/invitations/{other_inv.pk}/revoke/"),
        ("post", f"/tokens/{other_token.pk}/revoke/"),
        ("get", f"/projects/{uuid.uuid4()}/"),
    ]:
        assert (
            getattr(client, method)(
                path, {"role": "admin"} if method == "post" else None
            ).status_code
            == 404
        ), path
    with tenant_scope(tenant_b):
        from projects.models import Project

        assert Project.objects.filter(pk=p).exists()
        assert ApiToken.objects.get(pk=other_token.pk).revoked_at is None


def test_get_never_writes(tenant_a, objects, admin):
    """Destructive actions answer GET with their confirmation page; only POST acts."""
    client = signed_in(tenant_a, admin)
    assert client.get(f"/members/{objects['member'].pk}/role/").status_code == 405
    for path in (
        f"/tokens/{objects['token'].pk}/revoke/",
        f"/members/{objects['member'].pk}/remove/",
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert f'action="{path}"' in response.content.decode()
    with tenant_scope(tenant_a):
        assert ApiToken.objects.get(pk=objects["token"].pk).revoked_at is None
        assert User.objects.filter(pk=objects["member"].pk).exists()
