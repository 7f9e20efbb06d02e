"""One mail per invitation and per reset, on every door, with a link that opens on the tenant host.

The on-commit callbacks really run (`django_capture_on_commit_callbacks(execute=True)`): the
mail is sent the way production sends it (outbox row → relay → task), in-process here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.models import Role
from tests.api.conftest import ApiTestClient, mint
from tests.factories import UserFactory
from tests.web.conftest import host, signed_in

PORT = 8123


@pytest.fixture(autouse=True)
def _public_port(settings):
    settings.PUBLIC_PORT = PORT  # the port the tenant hosts are served on (behind the proxy)
    settings.LOGIN_IP_FAILURE_LIMIT = 10_000


def _links(message, marker: str) -> list[str]:
    return [w for w in re.findall(r"\S+", message.body) if marker in w]


def _opens(tenant, link: str) -> Client:
    """The link names the tenant's host and the public port; its path answers there."""
    parts = urlsplit(link)
    assert (parts.scheme, parts.hostname, parts.port) == ("http", host(tenant), PORT), link
    return Client(HTTP_HOST=parts.netloc), parts.path


def _outbox(tenant):
    from tenants.context import tenant_scope
    from tenants.models import OutboxMessage

    with tenant_scope(tenant):
        return list(OutboxMessage.objects.filter(tenant_id=tenant.pk).order_by("created_at"))


def test_one_mail_per_web_invitation_with_a_working_link(
    tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    owner = UserFactory(tenant=tenant_a, email="owner@alpha.test", role=Role.OWNER)
    client = signed_in(tenant_a, owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/members/", {"email": "new@alpha.test", "role": "member"})
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [["new@alpha.test"]]
    [link] = _links(mailoutbox[0], "/invitations/accept/")
    visitor, path = _opens(tenant_a, link)
    page = visitor.get(path)
    assert page.status_code == 200 and b"new@alpha.test" in page.content
    assert [(r.task, r.status) for r in _outbox(tenant_a)] == [
        ("accounts.send_invitation_email", "done")
    ]


def test_one_mail_per_api_invitation_with_the_link_the_api_returned(
    tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(tenant=tenant_a, email="owner@alpha.test", role=Role.OWNER)
    api = ApiTestClient(f"{host(tenant_a)}:{PORT}", mint(tenant_a))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/invitations/", {"email": "api@alpha.test"}, format="json")
    assert response.status_code == 201, response.content
    assert [m.to for m in mailoutbox] == [["api@alpha.test"]]
    [link] = _links(mailoutbox[0], "/invitations/accept/")
    assert link == response.json()["accept_url"]
    visitor, path = _opens(tenant_a, link)
    assert visitor.get(path).status_code == 200


def test_one_mail_per_password_reset_with_a_working_link(
    tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(tenant=tenant_a, email="forgot@alpha.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(HTTP_HOST=host(tenant_a)).post(
            "/accounts/password-reset/", {"email": "Forgot@alpha.test"}
        )
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[user.email]]
    [link] = _links(mailoutbox[0], "/accounts/reset/")
    visitor, path = _opens(tenant_a, link)
    form = visitor.get(path, follow=True)
    assert b"Choose a new password" in form.content
    assert [(r.task, r.status) for r in _outbox(tenant_a)] == [
        ("accounts.send_password_reset_email", "done")
    ]


def test_a_redelivered_message_sends_nothing_more(
    tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    from accounts.invitations import invitation_create
    from accounts.tasks import send_invitation_email
    from tenants.context import tenant_scope
    from tenants.outbox import OUTBOX_HEADER

    with django_capture_on_commit_callbacks(execute=True), tenant_scope(tenant_a):
        issued = invitation_create(tenant=tenant_a, email="twice@alpha.test")
    [row] = _outbox(tenant_a)
    assert row.status == "done" and len(mailoutbox) == 1
    assert row.args == [] and row.kwargs == {}  # nothing is kept once sent
    args = [str(issued.invitation.pk)]
    with tenant_scope(tenant_a):
        # The broker handing the same message out again (acks_late after a lost ack).
        again = send_invitation_email.apply_async(
            args=args, task_id=str(row.pk), headers={OUTBOX_HEADER: str(row.pk)}
        )
        # A message that names no outbox row is not accepted work: it runs nothing.
        forged = send_invitation_email.apply_async(args=args)
    assert "already done" in str(again.get())
    assert "refused" in str(forged.get())
    assert len(mailoutbox) == 1
