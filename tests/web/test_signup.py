"""Sign-up on the apex: live subdomain check, provisioning, one-time hand-off to the new host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client

from accounts.handoff import SALT, handoff_token_create
from accounts.models import Role, User
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.conftest import unique_subdomain
from tests.factories import UserFactory
from tests.web.conftest import host

pytestmark = pytest.mark.django_db

APEX = settings.BASE_DOMAIN


def apex() -> Client:
    return Client(HTTP_HOST=APEX)


def signup(sub, **overrides):
    data = {
        "name": "Acme Rockets",
        "subdomain": sub,
        "plan": "free",
        "email": "Founder@Acme.test",
        "password": "rocket-science-42",
    }
    data.update(overrides)
    return apex().post("/signup/", data)


def test_subdomain_check_fragment(tenant_a):
    check = (
        apex().get("/signup/check-subdomain/", {"subdomain": tenant_a.subdomain}).content.decode()
    )
    # The same answer as for a name kept after a deletion (tests/tenants/test_delete_restore.py).
    assert f"The subdomain &#x27;{tenant_a.subdomain}&#x27; is not available." in check
    free = unique_subdomain("free")
    assert (
        f"{free}.{APEX} is available"
        in apex().get("/signup/check-subdomain/", {"subdomain": free}).content.decode()
    )
    assert (
        "reserved"
        in apex().get("/signup/check-subdomain/", {"subdomain": "admin"}).content.decode()
    )
    assert (
        "lowercase letters"
        in apex().get("/signup/check-subdomain/", {"subdomain": "-x"}).content.decode()
    )


def test_signup_creates_tenant_and_owner_and_hands_off(db):
    sub = unique_subdomain("acme")
    response = signup(sub)
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.netloc == f"{sub}.{APEX}" and target.path == "/accounts/handoff/"
    tenant = Tenant.objects.get(subdomain=sub)
    assert tenant.name == "Acme Rockets" and tenant.plan.code == "free" and tenant.is_active
    with tenant_scope(tenant):
        owner = User.objects.get()
        assert owner.email == "founder@acme.test" and owner.role == Role.OWNER

    browser = Client(HTTP_HOST=target.netloc)
    landed = browser.get(f"{target.path}?{target.query}")
    assert landed.status_code == 302 and landed["Location"] == "/"
    dashboard = browser.get("/")
    assert dashboard.status_code == 200 and "Acme Rockets" in dashboard.content.decode()
    # Single use: the same link again signs nobody in.
    replay = Client(HTTP_HOST=target.netloc).get(f"{target.path}?{target.query}")
    assert replay.status_code == 400


def test_signup_keeps_the_port_of_the_request(db):
    sub = unique_subdomain("port")
    response = Client(HTTP_HOST=f"{APEX}:8123").post(
        "/signup/",
        {
            "name": "P",
            "subdomain": sub,
            "plan": "free",
            "email": "p@p.test",
            "password": "rocket-science-42",
        },
    )
    assert response["Location"].startswith(f"http://{sub}.{APEX}:8123/accounts/handoff/?token=")


def test_signup_errors_tell_what_to_do(tenant_a):
    taken = signup(tenant_a.subdomain)
    assert taken.status_code == 400 and "is not available" in taken.content.decode()
    weak = signup(unique_subdomain("weak"), password="password")
    assert weak.status_code == 400 and "too common" in weak.content.decode()
    count = Tenant.objects.count()
    assert signup("Bad Name!").status_code == 400
    assert Tenant.objects.count() == count


def test_enterprise_is_not_self_service(db):
    response = signup(unique_subdomain("ent"), plan="enterprise")
    assert response.status_code == 400


def test_handoff_token_is_bound_to_its_tenant_and_expires(tenant_a, tenant_b, settings):
    user = UserFactory(tenant=tenant_a)
    token = handoff_token_create(tenant=tenant_a, user=user)
    assert (
        Client(HTTP_HOST=host(tenant_b)).get("/accounts/handoff/", {"token": token}).status_code
        == 400
    )
    settings.SIGNUP_HANDOFF_MAX_AGE = -1
    expired = Client(HTTP_HOST=host(tenant_a)).get("/accounts/handoff/", {"token": token})
    assert expired.status_code == 400 and b"Sign in with your email" in expired.content
    forged = signing.dumps({"t": str(tenant_a.pk), "u": str(user.pk), "n": "x"}, salt="other")
    settings.SIGNUP_HANDOFF_MAX_AGE = 120
    assert (
        Client(HTTP_HOST=host(tenant_a)).get("/accounts/handoff/", {"token": forged}).status_code
        == 400
    )
    ok = Client(HTTP_HOST=host(tenant_a)).get("/accounts/handoff/", {"token": token})
    assert ok.status_code == 302
    assert SALT == "accounts.handoff"
