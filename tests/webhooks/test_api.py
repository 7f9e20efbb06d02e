"""Webhook endpoints and the delivery log over the API and in the admin UI."""

from __future__ import annotations

import pytest

from accounts.models import Role
from projects.services import project_create
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.conftest import make_tenant
from tests.factories import UserFactory
from tests.web.conftest import signed_in
from tests.webhooks.conftest import Receiver


def test_endpoint_lifecycle_and_the_secret_shown_once(db, tenant_a, api_for, loopback_allowed):
    api = api_for(tenant_a)
    response = api.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["task.created", "project.created"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["project.created", "task.created"]
    assert response["Location"].endswith(f"/api/v1/webhooks/{created['id']}/")
    url = f"/api/v1/webhooks/{created['id']}/"
    for body in (api.get(url).json(), api.get("/api/v1/webhooks/").json()["results"][0]):
        assert "secret" not in body and body["secret_hint"] == "whsec_…" + created["secret"][-4:]

    changed = api.patch(url, {"enabled": False, "events": ["plan.changed"]}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["enabled"], changed.json()["events"]) == (False, ["plan.changed"])
    rotated = api.post(url + "rotate-secret/").json()
    assert rotated["secret"] != created["secret"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "http://127.0.0.1:9/", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/", "events": ["nope"]}, "events"),
        ({"url": "not a url", "events": ["task.created"]}, "url"),
        ({"events": ["task.created"]}, "url"),
    ],
)
def test_bad_input_is_400_in_the_envelope(db, tenant_a, api_for, loopback_allowed, body, field):
    response = api_for(tenant_a).post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("scopes", [("read",), ("write",)])
def test_needs_the_admin_scope(db, tenant_a, api_for, scopes):
    response = api_for(tenant_a, scopes).get("/api/v1/webhooks/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


def test_another_tenants_endpoint_is_404(db, tenant_a, tenant_b, api_for, loopback_allowed):
    b = api_for(tenant_b)
    created = b.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/", "events": ["task.created"]},
        format="json",
    ).json()
    a = api_for(tenant_a)
    for method, path in [
        ("get", f"/api/v1/webhooks/{created['id']}/"),
        ("patch", f"/api/v1/webhooks/{created['id']}/"),
        ("delete", f"/api/v1/webhooks/{created['id']}/"),
        ("get", f"/api/v1/webhooks/{created['id']}/deliveries/"),
        ("post", f"/api/v1/webhooks/{created['id']}/rotate-secret/"),
    ]:
        assert getattr(a, method)(path, {}, format="json").status_code == 404, (method, path)
    assert a.get("/api/v1/webhooks/").json()["count"] == 0


def test_the_delivery_log_shows_response_codes_and_resends(committed_db, loopback_allowed):
    tenant = make_tenant("shared", "whlog")
    api = ApiTestClient(host_of(tenant), mint(tenant))
    with Receiver(statuses=[500]) as receiver:
        created = api.post(
            "/api/v1/webhooks/",
            {"url": receiver.url(), "events": ["project.created"]},
            format="json",
        ).json()
        with tenant_scope(tenant):
            project_create(tenant=tenant, name="Logged")
        receiver.wait_for(2)
        log = api.get(f"/api/v1/webhooks/{created['id']}/deliveries/").json()
        [delivery] = log["results"]
        assert delivery["status"] == "succeeded" and delivery["event_type"] == "project.created"
        assert [a["response_status"] for a in delivery["attempt_log"]] == [500, 200]
        assert delivery["attempt_log"][0]["response_body"].startswith("boom")
        assert len(delivery["attempt_log"][0]["response_body"]) == 1000
        resent = api.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/resend/")
        assert resent.status_code == 202
        requests = receiver.wait_for(3)
    assert len(requests) == 3
    assert requests[2]["headers"]["webhook-id"] == requests[1]["headers"]["webhook-id"]
    assert requests[2]["body"] == requests[1]["body"]


def test_the_admin_page_registers_an_endpoint_and_shows_its_secret_once(
    db, tenant_a, loopback_allowed
):
    admin = UserFactory(tenant=tenant_a, email="admin@alpha.test", role=Role.ADMIN)
    member = UserFactory(tenant=tenant_a, email="member@alpha.test", role=Role.MEMBER)
    assert signed_in(tenant_a, member).get("/webhooks/").status_code == 403
    browser = signed_in(tenant_a, admin)
    page = browser.get("/webhooks/")
    assert page.status_code == 200 and b'aria-current="page">Webhooks' in page.content
    loopback_allowed.WEBHOOKS_ALLOW_PRIVATE = False
    response = browser.post("/webhooks/", {"url": "http://10.0.0.1/x", "events": ["task.created"]})
    assert response.status_code == 400 and b"public addresses only" in response.content
    loopback_allowed.WEBHOOKS_ALLOW_PRIVATE = True
    response = browser.post(
        "/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "description": "CI", "events": ["task.created"]},
    )
    assert response.status_code == 302
    detail = response["Location"]
    first = browser.get(detail)
    assert first.status_code == 200 and b"whsec_" in first.content
    assert first["Cache-Control"] == "no-store"
    second = browser.get(detail)
    assert b"Copy the signing secret now" not in second.content
    assert b"No deliveries yet" in second.content
    listing = browser.get("/webhooks/")
    assert b"127.0.0.1:9/hook" in listing.content and b"whsec_" not in listing.content
    assert browser.post(detail + "toggle/").status_code == 302
    assert b"badge off" in browser.get(detail).content
    assert browser.post(detail + "delete/").status_code == 302
    assert browser.get(detail).status_code == 404


def test_the_secret_is_never_stored_for_an_idempotent_replay(
    db, tenant_a, api_for, loopback_allowed
):
    from idempotency.models import IdempotencyRecord

    api = api_for(tenant_a)
    body = {"url": "http://127.0.0.1:9/hook", "events": ["task.created"]}
    first = api.post("/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="w1")
    second = api.post("/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="w1")
    assert first.status_code == second.status_code == 201
    assert first.json()["secret"].startswith("whsec_") and second.json()["secret"] is None
    rotated = api.post(
        f"/api/v1/webhooks/{first.json()['id']}/rotate-secret/", HTTP_IDEMPOTENCY_KEY="w2"
    )
    with tenant_scope(tenant_a):
        stored = b"".join(bytes(r.body) for r in IdempotencyRecord.objects.all())
    assert first.json()["secret"].encode() not in stored
    assert rotated.json()["secret"].encode() not in stored
