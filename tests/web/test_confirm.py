"""Destructive actions ask first: GET shows a confirmation page (no script needed), POST acts."""

from __future__ import annotations

import re
import uuid

import pytest

from accounts.models import User
from operators.services import operator_create
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.factories import ProjectFactory, TaskFactory
from tests.web.conftest import signed_in
from tests.web.test_operator import console

pytestmark = pytest.mark.django_db
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")


@pytest.fixture
def an_operator(db):
    return operator_create(
        email=f"ops-{uuid.uuid4().hex[:8]}@tenantry.test", password="operator-password-1"
    )


def _confirmation(response, path: str, button: str) -> str:
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<form method="post" action="{path}">' in html
    assert f'<button type="submit" class="danger">{button}</button>' in html
    assert not INLINE_SCRIPT.search(html)  # the CSP allows no inline script
    return html


def test_removing_a_member_is_confirmed(tenant_a, admin, member):
    client = signed_in(tenant_a, admin)
    members = client.get("/members/").content.decode()
    path = f"/members/{member.pk}/remove/"
    assert f'href="{path}"' in members  # the list links to the confirmation
    html = _confirmation(client.get(path), path, "Remove member")
    assert member.email in html and 'href="/members/"' in html  # cancel goes back
    with tenant_scope(tenant_a):
        assert User.objects.filter(pk=member.pk).exists()
    assert client.post(path).status_code == 302
    with tenant_scope(tenant_a):
        assert not User.objects.filter(pk=member.pk).exists()


def test_deleting_a_task_is_confirmed(tenant_a, member):
    project = ProjectFactory(tenant=tenant_a)
    task = TaskFactory(tenant=tenant_a, project=project)
    client = signed_in(tenant_a, member)
    path = f"/projects/{project.pk}/tasks/{task.pk}/delete/"
    assert f'href="{path}"' in client.get(f"/projects/{project.pk}/").content.decode()
    _confirmation(client.get(path), path, "Delete task")
    with tenant_scope(tenant_a):
        assert type(task).objects.filter(pk=task.pk).exists()
    client.post(path)
    with tenant_scope(tenant_a):
        assert not type(task).objects.filter(pk=task.pk).exists()


def test_suspending_a_tenant_is_confirmed_with_its_reason(tenant_a, an_operator):
    ops = console(an_operator)
    path = f"/tenants/{tenant_a.pk}/suspend/"
    detail = ops.get(f"/tenants/{tenant_a.pk}/").content.decode()
    assert f'<form method="get" action="{path}">' in detail
    html = _confirmation(ops.get(path, {"reason": "unpaid"}), path, f"Suspend {tenant_a.subdomain}")
    assert 'value="unpaid"' in html
    assert Tenant.objects.get(pk=tenant_a.pk).status == "active"
    ops.post(path, {"reason": "unpaid"})
    assert Tenant.objects.get(pk=tenant_a.pk).status == "suspended"
