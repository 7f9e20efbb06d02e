"""What the tenant pages do: members, invitations, tokens, projects, tasks, billing, audit."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import ApiToken, Invitation, Role, User
from accounts.services import token_authenticate
from audit.models import AuditEvent
from billing.models import Plan
from projects.models import Project, Task
from tenants.context import tenant_scope
from tests.factories import ProjectFactory, TaskFactory, UserFactory
from tests.web.conftest import host, signed_in

pytestmark = pytest.mark.django_db


def factory_name(prefix):
    import factory

    return factory.Sequence(lambda n: f"{prefix} {n}")


def on_plan(tenant, code):
    tenant.plan = Plan.objects.get(code=code)
    tenant.save(update_fields=["plan"], using="operator")  # the registry: operator role
    tenant._state.db = "default"  # read back as the app does
    tenant.__dict__.pop("context_prefix", None)


# --- members and invitations ------------------------------------------------------------------


def test_invite_sends_a_link_that_signs_the_new_member_in(
    tenant_a, admin, django_capture_on_commit_callbacks
):
    client = signed_in(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):  # the mail leaves after the commit
        response = client.post("/members/", {"email": "New@Alpha.test", "role": "member"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@alpha.test"]
    link = re.search(r"http://\S+/invitations/accept/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(f"http://{host(tenant_a)}/invitations/accept/")
    path = link.split(host(tenant_a), 1)[1]

    newcomer = Client(HTTP_HOST=host(tenant_a))
    page = newcomer.get(path)
    assert page.status_code == 200 and "new@alpha.test" in page.content.decode()
    accepted = newcomer.post(path, {"name": "Nia", "password": "a-good-long-password"})
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    assert newcomer.get("/").status_code == 200  # signed in
    with tenant_scope(tenant_a):
        user = User.objects.get(email="new@alpha.test")
        assert user.role == Role.MEMBER and user.name == "Nia"
    # Single use.
    assert Client(HTTP_HOST=host(tenant_a)).get(path).status_code == 404


def test_invitation_links_do_not_work_on_another_tenant(
    tenant_a, tenant_b, admin, django_capture_on_commit_callbacks
):
    client = signed_in(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/members/", {"email": "x@alpha.test", "role": "member"})
    path = re.search(r"/invitations/accept/\S+/", mail.outbox[0].body).group(0)
    assert Client(HTTP_HOST=host(tenant_b)).get(path).status_code == 404


def test_invite_errors_are_shown(tenant_a, admin, member):
    client = signed_in(tenant_a, admin)
    response = client.post("/members/", {"email": member.email, "role": "member"})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    response = client.post("/members/", {"email": "boss@alpha.test", "role": "owner"})
    assert (
        response.status_code == 400 and "Only owners can invite owners" in response.content.decode()
    )
    assert mail.outbox == []


def test_member_limit_message_on_free_plan(tenant_a, owner, admin, member):
    on_plan(tenant_a, "free")  # 3 members: already full
    response = signed_in(tenant_a, owner).post(
        "/members/", {"email": "fourth@alpha.test", "role": "member"}
    )
    assert response.status_code == 400
    assert (
        "Your Free plan allows 3 members; you have 3. Upgrade to Pro" in response.content.decode()
    )


def test_change_role_and_remove(tenant_a, owner, member):
    client = signed_in(tenant_a, owner)
    assert client.post(f"/members/{member.pk}/role/", {"role": "admin"}).status_code == 302
    with tenant_scope(tenant_a):
        assert User.objects.get(pk=member.pk).role == Role.ADMIN
    assert client.post(f"/members/{member.pk}/remove/").status_code == 302
    with tenant_scope(tenant_a):
        assert not User.objects.filter(pk=member.pk).exists()


def test_last_owner_cannot_be_removed_or_demoted(tenant_a, owner):
    client = signed_in(tenant_a, owner)
    response = client.post(f"/members/{owner.pk}/remove/", follow=True)
    assert "The last owner cannot be removed." in response.content.decode()
    response = client.post(f"/members/{owner.pk}/role/", {"role": "member"}, follow=True)
    assert "The last owner cannot be demoted" in response.content.decode()
    with tenant_scope(tenant_a):
        assert User.objects.get(pk=owner.pk).role == Role.OWNER


def test_admin_cannot_touch_owners(tenant_a, owner, admin):
    client = signed_in(tenant_a, admin)
    response = client.post(f"/members/{owner.pk}/remove/", follow=True)
    assert "Only owners can grant, change or remove the owner role." in response.content.decode()
    client.post(f"/members/{admin.pk}/role/", {"role": "owner"})
    with tenant_scope(tenant_a):
        assert User.objects.get(pk=owner.pk).role == Role.OWNER
        assert User.objects.get(pk=admin.pk).role == Role.ADMIN


def test_revoke_invitation(tenant_a, admin):
    client = signed_in(tenant_a, admin)
    client.post("/members/", {"email": "r@alpha.test", "role": "member"})
    with tenant_scope(tenant_a):
        invitation = Invitation.objects.get(email="r@alpha.test")
    assert client.post(f"/members/invitations/{invitation.pk}/revoke/").status_code == 302
    with tenant_scope(tenant_a):
        assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None


# --- API tokens -------------------------------------------------------------------------------


def test_token_secret_is_shown_once_and_works_until_revoked(tenant_a, admin):
    client = signed_in(tenant_a, admin)
    response = client.post(
        "/tokens/", {"name": "CI deploy", "scopes": ["read", "write"], "expires_in_days": "30"}
    )
    assert response.status_code == 302  # post/redirect/get: a reload creates nothing
    response = client.get("/tokens/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(r'value="(tntr_[^"]+)"', response.content.decode()).group(1)
    with tenant_scope(tenant_a):
        token = token_authenticate(tenant=tenant_a, raw=secret)
        assert token is not None and token.scopes == ["read", "write"]
        assert token.expires_at is not None
    listing = client.get("/tokens/").content.decode()
    assert "CI deploy" in listing and secret not in listing
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    with tenant_scope(tenant_a):
        assert token_authenticate(tenant=tenant_a, raw=secret) is None


def test_token_needs_a_scope(tenant_a, admin):
    response = signed_in(tenant_a, admin).post("/tokens/", {"name": "x", "scopes": []})
    assert response.status_code == 400
    with tenant_scope(tenant_a):
        assert ApiToken.objects.count() == 0


# --- projects and tasks -----------------------------------------------------------------------


def test_project_create_edit_delete(tenant_a, member):
    client = signed_in(tenant_a, member)
    response = client.post("/projects/new/", {"name": "Apollo", "description": "Moon"})
    assert response.status_code == 302
    with tenant_scope(tenant_a):
        project = Project.objects.get(name="Apollo")
    assert response["Location"] == f"/projects/{project.pk}/"
    assert (
        client.post(
            f"/projects/{project.pk}/edit/", {"name": "Apollo 11", "description": "Moon"}
        ).status_code
        == 302
    )
    with tenant_scope(tenant_a):
        assert Project.objects.get(pk=project.pk).name == "Apollo 11"
    assert client.post(f"/projects/{project.pk}/delete/").status_code == 302
    with tenant_scope(tenant_a):
        assert not Project.objects.filter(pk=project.pk).exists()
        actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert {"project.create", "project.update", "project.delete"} <= set(actions)


def test_project_search_with_and_without_htmx(tenant_a, member):
    ProjectFactory(tenant=tenant_a, name="Gemini")
    ProjectFactory(tenant=tenant_a, name="Mercury")
    client = signed_in(tenant_a, member)
    full = client.get("/projects/", {"q": "gem"}).content.decode()
    assert "Gemini" in full and "Mercury" not in full and "<html" in full
    partial = client.get(
        "/projects/", {"q": "merc"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="project-results"
    ).content.decode()
    assert "Mercury" in partial and "Gemini" not in partial and "<html" not in partial
    assert "No project matches" in client.get("/projects/", {"q": "zzz"}).content.decode()


def test_project_limit_message(tenant_a, member, owner):
    on_plan(tenant_a, "free")
    ProjectFactory.create_batch(3, tenant=tenant_a)
    response = signed_in(tenant_a, member).post("/projects/new/", {"name": "Fourth"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Your Free plan allows 3 projects; you have 3. Upgrade to Pro to raise it." in body
    assert "Ask an owner or admin" in body
    body = signed_in(tenant_a, owner).post("/projects/new/", {"name": "Fourth"}).content.decode()
    assert "You can change the plan on the Billing page." in body
    with tenant_scope(tenant_a):
        assert Project.objects.count() == 3


def test_tasks_create_edit_delete(tenant_a, member):
    project = ProjectFactory(tenant=tenant_a)
    client = signed_in(tenant_a, member)
    response = client.post(
        f"/projects/{project.pk}/", {"title": "Launch", "status": "todo", "assignee": member.pk}
    )
    assert response.status_code == 302
    with tenant_scope(tenant_a):
        task = Task.objects.get(project=project)
        assert task.assignee_id == member.pk
    client.post(
        f"/projects/{project.pk}/tasks/{task.pk}/edit/",
        {"title": "Launch!", "status": "done", "assignee": ""},
    )
    with tenant_scope(tenant_a):
        task.refresh_from_db()
        assert (task.title, task.status, task.assignee_id) == ("Launch!", "done", None)
    assert client.post(f"/projects/{project.pk}/tasks/{task.pk}/delete/").status_code == 302
    with tenant_scope(tenant_a):
        assert not Task.objects.filter(pk=task.pk).exists()


def test_task_of_another_project_is_404(tenant_a, member):
    task = TaskFactory(tenant=tenant_a)
    other = ProjectFactory(tenant=tenant_a)
    client = signed_in(tenant_a, member)
    assert client.get(f"/projects/{other.pk}/tasks/{task.pk}/edit/").status_code == 404


def test_assignee_choices_are_this_tenants_users(tenant_a, tenant_b, member):
    stranger = UserFactory(tenant=tenant_b, email="stranger@beta.test")
    project = ProjectFactory(tenant=tenant_a)
    client = signed_in(tenant_a, member)
    body = client.get(f"/projects/{project.pk}/").content.decode()
    assert member.email in body and stranger.email not in body
    response = client.post(
        f"/projects/{project.pk}/", {"title": "x", "status": "todo", "assignee": stranger.pk}
    )
    assert response.status_code == 400


# --- dashboard, billing, audit ----------------------------------------------------------------


def test_dashboard_shows_usage_bars(tenant_a, member):
    on_plan(tenant_a, "free")
    ProjectFactory.create_batch(2, tenant=tenant_a)
    body = signed_in(tenant_a, member).get("/").content.decode()
    assert '<progress max="3" value="2"' in body
    assert "2 of 3" in body


def test_plan_change_up_and_refused_down(tenant_a, owner):
    client = signed_in(tenant_a, owner)
    ProjectFactory.create_batch(4, tenant=tenant_a)  # pro: fine; free allows 3
    response = client.post("/billing/", {"plan": "free"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Cannot change to Free" in body and "projects: 4 in use, Free allows 3" in body
    tenant_a.refresh_from_db()
    assert tenant_a.plan.code == "pro"


def test_plan_change_takes_effect_on_the_next_request(tenant_a, owner):
    on_plan(tenant_a, "free")
    client = signed_in(tenant_a, owner)
    assert client.post("/billing/", {"plan": "pro"}).status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.plan.code == "pro"
    assert "on the Pro plan" in client.get("/billing/").content.decode()
    with tenant_scope(tenant_a):
        assert AuditEvent.objects.filter(action="plan.change", data__to="pro").count() == 1


def test_billing_invoices_empty_state_then_rows(tenant_a, owner):
    from billing.invoices import invoice_create

    client = signed_in(tenant_a, owner)
    assert "No invoices yet" in client.get("/billing/").content.decode()
    with tenant_scope(tenant_a):
        invoice = invoice_create(tenant=tenant_a, tax_rate="0.19", lines=[("Pro plan", 1, 49)])
    body = client.get("/billing/").content.decode()
    assert "No invoices yet" not in body and invoice.number in body and "58.31" in body


def test_audit_log_lists_who_what_when(tenant_a, owner):
    client = signed_in(tenant_a, owner)
    client.post("/projects/new/", {"name": "Audited"})
    body = client.get("/audit/").content.decode()
    assert "project.create" in body and owner.email in body and "Audited" in body


def test_audit_log_needs_the_feature(tenant_a, owner):
    on_plan(tenant_a, "free")
    response = signed_in(tenant_a, owner).get("/audit/")
    assert response.status_code == 403
    assert "does not include audit log. It is included in Pro." in response.content.decode()


def test_project_list_pages_keep_the_search(tenant_a, member):
    ProjectFactory.create_batch(27, tenant=tenant_a, name=factory_name("Batch"))
    client = signed_in(tenant_a, member)
    first = client.get("/projects/", {"q": "batch"}).content.decode()
    assert "Page 1 of 2" in first and 'href="?q=batch&amp;page=2"' in first
    assert first.count('<tr><td data-label="Name"><a href="/projects/') == 25
    second = client.get("/projects/", {"q": "batch", "page": "2"}).content.decode()
    assert second.count('<tr><td data-label="Name"><a href="/projects/') == 2  # 27 = 25 + 2
    assert "Page 2 of 2" in second
