"""Every API route and method, as tenant A against tenant B: never a 2xx, never B's data.

The routes come from the served OpenAPI schema, so a new endpoint is walked
automatically; a path parameter the test cannot fill with B's object fails it.
"""

from __future__ import annotations

import re
import uuid

import pytest

from accounts.invitations import invitation_create
from accounts.models import ApiToken, Invitation, Role, User
from accounts.services import token_create
from projects.models import Project, Task
from tenants.context import tenant_scope
from tenants.models import Domain
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.factories import ProjectFactory, TaskFactory, UserFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.isolation]

METHODS = ("get", "post", "put", "patch", "delete")
PAYLOAD = {
    "name": "hijack",
    "title": "hijack",
    "role": "member",
    "email": "x@hijack.test",
    "scopes": ["read"],
    "description": "hijack",
}


@pytest.fixture
def b_objects(tenant_b):
    owner = UserFactory(tenant=tenant_b, role=Role.OWNER, email="secret-owner@beta.test")
    project = ProjectFactory(tenant=tenant_b, name="beta-secret-project")
    task = TaskFactory(tenant=tenant_b, project=project, title="beta-secret-task")
    with tenant_scope(tenant_b):
        invitation = invitation_create(
            tenant=tenant_b, email="secret-invitee@beta.test", invited_by=owner
        ).invitation
        token = token_create(tenant=tenant_b, name="beta-secret-token", scopes=["admin"]).token
        domain = Domain.objects.create(tenant=tenant_b, domain="beta-secret.example.org", token="t")
        webhook = WebhookEndpoint.objects.create(
            tenant_id=tenant_b.pk,
            url="https://beta-secret-hook.example.org/in",
            events=["project.created"],
            secret="whsec_beta-secret-signing-key",
        )
        delivery = WebhookDelivery.objects.create(
            tenant_id=tenant_b.pk,
            endpoint=webhook,
            event_id=uuid.uuid4(),
            event_type="project.created",
            status="failed",
        )
    return {
        "webhook": webhook,
        "delivery": delivery,
        "domain": domain,
        "owner": owner,
        "project": project,
        "task": task,
        "invitation": invitation,
        "token": token,
    }


def _fill(path: str, b: dict) -> str:
    """Put B's object ids into a schema path; unknown parameters fail the test."""
    collection = {
        "projects": b["project"],
        "tasks": b["task"],
        "members": b["owner"],
        "invitations": b["invitation"],
        "tokens": b["token"],
        "domains": b["domain"],
        "webhooks": b["webhook"],
        "deliveries": b["delivery"],
    }
    parts = path.strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        if part == "{project_pk}":
            out.append(str(b["project"].pk))
        elif part == "{webhook_pk}":
            out.append(str(b["webhook"].pk))
        elif part == "{id}":
            out.append(str(collection[parts[i - 1]].pk))
        elif part.startswith("{"):
            pytest.fail(f"the matrix does not know how to fill {part} in {path}")
        else:
            out.append(part)
    return "/" + "/".join(out) + "/"


def _secrets(b: dict) -> list[str]:
    keys = ("owner", "project", "task", "invitation", "token", "domain", "webhook", "delivery")
    return [str(b[k].pk) for k in keys] + [
        "beta-secret-hook",
        "beta-secret-signing-key",
        "beta-secret.example.org",
        "beta-secret-project",
        "beta-secret-task",
        "secret-owner@beta.test",
        "secret-invitee@beta.test",
        "beta-secret-token",
        b["token"].key_id,
    ]


def _operations(client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    ops = [
        (path, method)
        for path, item in schema["paths"].items()
        for method in METHODS
        if method in item
    ]
    assert len(ops) >= 25, ops  # the whole API, not an empty schema
    return ops


def test_a_token_against_b_objects_on_a_host(tenant_a, tenant_b, b_objects):
    client = ApiTestClient(host_of(tenant_a), mint(tenant_a, ["admin"]))
    ops = _operations(client)
    walked = 0
    for path, method in ops:
        url = _fill(path, b_objects)
        response = getattr(client, method)(url, PAYLOAD, format="json")
        body = response.content.decode()
        for secret in _secrets(b_objects):
            assert secret not in body, (method, url, secret)
        if "{" in path:
            # B's object by id on A's host: exactly like a missing one.
            assert response.status_code == 404, (method, url, response.status_code, body)
            assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
            walked += 1
    assert walked >= 15

    # Nothing of B's changed.
    with tenant_scope(tenant_b):
        assert Project.objects.filter(
            pk=b_objects["project"].pk, name="beta-secret-project"
        ).exists()
        assert Task.objects.filter(pk=b_objects["task"].pk, title="beta-secret-task").exists()
        assert User.objects.get(pk=b_objects["owner"].pk).role == Role.OWNER
        assert Invitation.objects.get(pk=b_objects["invitation"].pk).revoked_at is None
        assert ApiToken.objects.get(pk=b_objects["token"].pk).revoked_at is None
        assert ApiToken.objects.filter(tenant_id=tenant_b.pk).count() == 1
        assert Project.objects.count() == 1
        webhook = WebhookEndpoint.objects.get(pk=b_objects["webhook"].pk)
        assert webhook.is_enabled and webhook.secret == "whsec_beta-secret-signing-key"
        assert WebhookDelivery.objects.filter(tenant_id=tenant_b.pk).count() == 1


def test_a_token_on_b_host_is_401_everywhere(tenant_a, tenant_b, b_objects):
    a_token = mint(tenant_a, ["admin"])
    client = ApiTestClient(host_of(tenant_b), a_token)
    ops = _operations(ApiTestClient(host_of(tenant_a), a_token))
    for path, method in ops:
        url = _fill(path, b_objects)
        response = getattr(client, method)(url, PAYLOAD, format="json")
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
        body = response.content.decode()
        for secret in _secrets(b_objects):
            assert secret not in body
    with tenant_scope(tenant_b):
        assert Project.objects.count() == 1
        assert ApiToken.objects.get(pk=b_objects["token"].pk).revoked_at is None


def test_no_header_or_payload_field_changes_the_tenant(tenant_a, tenant_b):
    client = ApiTestClient(host_of(tenant_a), mint(tenant_a, ["admin"]))
    response = client.post(
        "/api/v1/projects/",
        {"name": "mine", "tenant_id": str(tenant_b.pk), "tenant": str(tenant_b.pk)},
        format="json",
        HTTP_X_TENANT=tenant_b.subdomain,
        HTTP_X_TENANT_ID=str(tenant_b.pk),
        HTTP_X_FORWARDED_HOST=host_of(tenant_b),
    )
    assert response.status_code == 201
    with tenant_scope(tenant_a):
        assert Project.objects.get(pk=response.json()["id"]).tenant_id == tenant_a.pk
    with tenant_scope(tenant_b):
        assert Project.objects.count() == 0


def test_schema_lists_every_router_route(tenant_a):
    """The matrix walks the schema; the schema must hold every API URL pattern."""
    from saas import urls_api as urls

    client = ApiTestClient(host_of(tenant_a), mint(tenant_a))
    schema_paths = set(client.get("/api/schema/?format=json").json()["paths"])
    patterns = [str(p.pattern) for p in urls.v1]
    assert len(patterns) >= 13
    normalised = {
        "/api/v1/"
        + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", p).lstrip("^").rstrip("$").replace("<pk>", "{id}")
        for p in patterns
    }
    normalised = {re.sub(r"\{pk\}", "{id}", n) for n in normalised}
    assert normalised <= schema_paths, normalised - schema_paths
