"""Users belong to one tenant and log in on its host only."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.forms import LOGIN_FAILED
from accounts.models import TenantSession, User
from accounts.sessions import SessionStore, session_key_hash
from tenants.context import tenant_scope
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def host(tenant):
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"


def login(client, tenant, email, password):
    return client.post(
        "/accounts/login/", {"email": email, "password": password}, HTTP_HOST=host(tenant)
    )


@pytest.fixture
def same_email_twice(tenant_a, tenant_b):
    a = UserFactory(tenant=tenant_a, email="sam@example.com", password="alpha-password-1")
    b = UserFactory(tenant=tenant_b, email="sam@example.com", password="beta-password-1")
    return a, b


def test_same_email_in_two_tenants_are_two_users(same_email_twice, tenant_a, tenant_b):
    a, b = same_email_twice
    assert a.pk != b.pk
    with tenant_scope(tenant_a):
        assert list(User.objects.values_list("pk", flat=True)) == [a.pk]


def test_login_only_with_the_password_of_this_tenant(same_email_twice, tenant_a, tenant_b):
    assert login(Client(), tenant_a, "sam@example.com", "alpha-password-1").status_code == 302
    response = login(Client(), tenant_a, "sam@example.com", "beta-password-1")
    assert response.status_code == 200 and LOGIN_FAILED in response.content.decode()
    assert login(Client(), tenant_b, "SAM@example.com", "beta-password-1").status_code == 302


def test_failures_read_the_same_for_unknown_and_known_emails(tenant_a):
    UserFactory(tenant=tenant_a, email="known@example.com")
    wrong_password = login(Client(), tenant_a, "known@example.com", "nope-nope-nope")
    unknown_email = login(Client(), tenant_a, "ghost@example.com", "nope-nope-nope")
    assert wrong_password.status_code == unknown_email.status_code == 200

    def alert(r):
        body = r.content.decode()
        return body[body.index('role="alert"') :].split("</div>")[0]

    assert alert(wrong_password) == alert(unknown_email)


def test_session_key_rotates_at_login(tenant_a):
    user = UserFactory(tenant=tenant_a)
    with tenant_scope(tenant_a):
        before = SessionStore()
        before["visited"] = True
        before.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key
    response = login(client, tenant_a, user.email, PASSWORD)
    assert response.status_code == 302
    after = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before.session_key
    with tenant_scope(tenant_a):
        stored = TenantSession.objects.filter
        assert not stored(session_key=session_key_hash(before.session_key)).exists()
        assert stored(session_key=session_key_hash(after)).exists()
        # The table holds hashes only: the cookie value itself is nowhere.
        assert not stored(session_key=after).exists()


def test_session_is_refused_on_another_tenants_host(tenant_a, tenant_b):
    user = UserFactory(tenant=tenant_a)
    client = Client()
    assert login(client, tenant_a, user.email, PASSWORD).status_code == 302
    assert client.get("/", HTTP_HOST=host(tenant_a)).status_code == 200
    # The test client sends the cookie to any host; a browser would not (host-only cookie).
    response = client.get("/", HTTP_HOST=host(tenant_b))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    with tenant_scope(tenant_b):
        assert not TenantSession.objects.filter(session_key=session_key_hash(key)).exists()


def test_cookies_are_host_only():
    assert settings.SESSION_COOKIE_DOMAIN is None
    assert settings.CSRF_COOKIE_DOMAIN is None


def test_passwords_are_hashed_with_argon2_in_production_settings(settings):
    from django.contrib.auth.hashers import make_password

    from saas.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    assert make_password("x").startswith("argon2$")
