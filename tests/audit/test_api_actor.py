"""Who acted, for every API write: the token (by its key id, never its secret) and, for a
member's token, the member behind it; an operator command by its operator.

Every unsafe route of the served OpenAPI document is walked (a new write endpoint fails
the coverage check until it is added here), with a member's token and with one minted by
`create_api_token`, and the actor is read back through GET /api/v1/audit/.
"""

from __future__ import annotations

import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import ApiToken, Role
from accounts.services import token_create
from audit.models import AuditEvent
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of
from tests.factories import UserFactory
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")


def _unsafe_operations(api) -> set[tuple[str, str]]:
    schema = api.get("/api/schema/?format=json").json()
    ops = {
        (method, path)
        for path, item in schema["paths"].items()
        for method in UNSAFE
        if method in item
    }
    assert len(ops) >= 20, ops  # the whole API, not an empty schema
    return ops


class Walk:
    """Calls one write per step and remembers which audit entries it must have produced."""

    def __init__(self, api):
        self.api = api
        self.walked: set[tuple[str, str]] = set()
        self.expected: list[tuple[str, str, str]] = []  # (action, target id, step)
        self.secrets: list[str] = []

    def __call__(self, method, route, body=None, audits=(), status=None, **ids):
        url = route.format(**ids)
        response = getattr(self.api, method)(url, body, format="json")
        ok = status or {"post": (200, 201, 202), "delete": (204,)}.get(method, (200,))
        assert response.status_code in ok, (method, url, response.status_code, response.content)
        self.walked.add((method, route))
        data = response.json() if response.content else {}
        for key in ("secret", "accept_url"):
            if data.get(key):
                self.secrets.append(data[key])
        for action, target in audits:
            self.expected.append((action, str(target or data["id"]), f"{method} {route}"))
        return data


def _audit_entries(api) -> list[dict]:
    entries, url = [], "/api/v1/audit/"
    while url:
        page = api.get(url)
        assert page.status_code == 200, page.content
        entries += page.json()["results"]
        url = page.json().get("next")
    return entries


def _walk_every_write(api, tenant, monkeypatch) -> Walk:
    walk = Walk(api)
    target = UserFactory(tenant=tenant, role=Role.MEMBER, email=f"m-{uuid.uuid4().hex[:6]}@w.test")
    leaver = UserFactory(tenant=tenant, role=Role.MEMBER, email=f"l-{uuid.uuid4().hex[:6]}@w.test")

    p = walk("post", "/api/v1/projects/", {"name": "p"}, [("project.create", None)])
    walk(
        "patch", "/api/v1/projects/{id}/", {"name": "p2"}, [("project.update", p["id"])], id=p["id"]
    )
    walk(
        "put",
        "/api/v1/projects/{id}/",
        {"name": "p3", "description": "d"},
        [("project.update", p["id"])],
        id=p["id"],
    )
    tasks = "/api/v1/projects/{project_pk}/tasks/"
    t = walk("post", tasks, {"title": "t"}, [("task.create", None)], project_pk=p["id"])
    task = tasks + "{id}/"
    walk("patch", task, {"title": "t2"}, [("task.update", t["id"])], project_pk=p["id"], id=t["id"])
    walk("put", task, {"title": "t3"}, [("task.update", t["id"])], project_pk=p["id"], id=t["id"])
    walk("delete", task, None, [("task.delete", t["id"])], project_pk=p["id"], id=t["id"])
    walk("delete", "/api/v1/projects/{id}/", None, [("project.delete", p["id"])], id=p["id"])

    i = walk("post", "/api/v1/invitations/", {"email": "new@w.test"}, [("invitation.create", None)])
    walk("delete", "/api/v1/invitations/{id}/", None, [("invitation.revoke", i["id"])], id=i["id"])

    old = walk(
        "post", "/api/v1/tokens/", {"name": "ci", "scopes": ["read"]}, [("token.create", None)]
    )
    new = walk(
        "post",
        "/api/v1/tokens/{id}/rotate/",
        None,
        [("token.revoke", old["id"]), ("token.create", None)],
        id=old["id"],
    )
    walk("delete", "/api/v1/tokens/{id}/", None, [("token.revoke", new["id"])], id=new["id"])

    walk(
        "patch",
        "/api/v1/members/{id}/",
        {"role": "admin"},
        [("member.role_change", target.pk)],
        id=target.pk,
    )
    walk("delete", "/api/v1/members/{id}/", None, [("member.remove", leaver.pk)], id=leaver.pk)

    hook = "/api/v1/webhooks/{id}/"
    w = walk(
        "post",
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["project.created"]},
        [("webhook.create", None)],
    )
    walk("patch", hook, {"description": "x"}, [("webhook.update", w["id"])], id=w["id"])
    walk("post", hook + "rotate-secret/", None, [("webhook.rotate_secret", w["id"])], id=w["id"])
    with tenant_scope(tenant):
        event = WebhookEvent.objects.create(tenant_id=tenant.pk, type="project.created")
        delivery = WebhookDelivery.objects.create(
            tenant_id=tenant.pk,
            endpoint_id=w["id"],
            event_id=event.pk,
            event_type="project.created",
            status="failed",
        )
    walk(
        "post",
        "/api/v1/webhooks/{webhook_pk}/deliveries/{id}/resend/",
        None,
        [("webhook.resend", w["id"])],
        webhook_pk=w["id"],
        id=delivery.pk,
    )
    walk("delete", hook, None, [("webhook.delete", w["id"])], id=w["id"])

    monkeypatch.setattr("tenants.domains.owns", lambda domain, token: True)  # no DNS here
    name = f"walk-{uuid.uuid4().hex[:10]}.example.org"
    d = walk("post", "/api/v1/domains/", {"domain": name}, [("domain.add", None)])
    walk("post", "/api/v1/domains/{id}/verify/", None, [("domain.verify", d["id"])], id=d["id"])
    walk("delete", "/api/v1/domains/{id}/", None, [("domain.remove", d["id"])], id=d["id"])
    return walk


def _check(api, walk: Walk, token_secret: str, label: str, actor_id) -> list[dict]:
    assert walk.walked == _unsafe_operations(api), "walk every API write endpoint"
    entries = _audit_entries(api)
    for action, target, step in walk.expected:
        rows = [e for e in entries if e["action"] == action and e["target_id"] == target]
        assert rows, (step, action, "no audit entry")
        for row in rows:
            assert (row["actor_label"], row["actor"]) == (label, actor_id), (step, row)
    body = json.dumps(entries)
    for secret in [token_secret, *walk.secrets]:
        # tntr_<key id (hex)>_<secret>: the secret itself may contain "_".
        part = secret.split("_", 2)[2] if secret.startswith("tntr_") else secret
        assert part not in body  # the key id prefix only, never a secret
    return entries


def test_a_members_token_is_named_with_its_member(tenant_a, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    owner = UserFactory(tenant=tenant_a, role=Role.OWNER, email="owner@walk.test")
    with tenant_scope(tenant_a):
        issued = token_create(
            tenant=tenant_a, name="probe", scopes=["admin"], actor=owner, created_by=owner
        )
    api = ApiTestClient(host_of(tenant_a), issued.secret)
    walk = _walk_every_write(api, tenant_a, monkeypatch)
    label = f"token:probe (tntr_{issued.token.key_id}_…) of owner@walk.test"
    _check(api, walk, issued.secret, label, str(owner.pk))


def test_an_operator_minted_token_and_its_command_are_named(tenant_a, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    out = StringIO()
    call_command(
        "create_api_token",
        tenant_a.subdomain,
        "--name",
        "probe",
        "--scopes",
        "read,write,admin",
        "--actor",
        "ops@tenantry.test",
        stdout=out,
        stderr=StringIO(),
    )
    secret = out.getvalue().strip()
    with tenant_scope(tenant_a):
        token = ApiToken.objects.get(name="probe")
    api = ApiTestClient(host_of(tenant_a), secret)
    walk = _walk_every_write(api, tenant_a, monkeypatch)
    entries = _check(api, walk, secret, f"token:probe (tntr_{token.key_id}_…)", None)
    minted = [e for e in entries if e["target_id"] == str(token.pk)]
    assert [(e["action"], e["actor_label"]) for e in minted] == [
        ("token.create", "operator ops@tenantry.test")
    ]


def test_the_command_names_the_os_user_without_actor(tenant_a):
    out = StringIO()
    call_command(
        "create_api_token",
        tenant_a.subdomain,
        "--name",
        "cli",
        "--scopes",
        "read",
        stdout=out,
        stderr=StringIO(),
    )
    with tenant_scope(tenant_a):
        token = ApiToken.objects.get(name="cli")
        row = AuditEvent.objects.get(action="token.create", target_id=str(token.pk))
    assert row.actor_label.startswith("operator ") and row.actor_label != "operator "
