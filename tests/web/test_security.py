"""CSRF on every form, login throttling without enumeration, security headers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db.models import F
from django.test import Client

from accounts.forms import LOGIN_FAILED
from accounts.invitations import invitation_create
from accounts.models import LoginFailure
from accounts.services import token_create
from tenants.context import tenant_scope
from tests.factories import ProjectFactory, TaskFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.web.conftest import host, signed_in

pytestmark = pytest.mark.django_db


def csrf_client(tenant, user=None):
    client = Client(enforce_csrf_checks=True, HTTP_HOST=host(tenant))
    if user is not None:
        # Sign in the way a browser does: fetch the form, send its token back.
        client.get("/accounts/login/")
        token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
        response = client.post(
            "/accounts/login/",
            {"email": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302
    return client


def test_every_tenant_form_refuses_a_post_without_csrf_token(tenant_a, owner, member):
    project = ProjectFactory(tenant=tenant_a)
    task = TaskFactory(tenant=tenant_a, project=project)
    with tenant_scope(tenant_a):
        token = token_create(tenant=tenant_a, name="t", scopes=["read"]).token
        issued = invitation_create(tenant=tenant_a, email="i@alpha.test")
    client = csrf_client(tenant_a, owner)
    posts = [
        "/accounts/logout/",
        "/members/",
        f"/members/{member.pk}/role/",
        f"/members/{member.pk}/remove/",
        f"/members/invitations/{issued.invitation.pk}/revoke/",
        "/tokens/",
        f"/tokens/{token.pk}/revoke/",
        "/projects/new/",
        f"/projects/{project.pk}/",
        f"/projects/{project.pk}/edit/",
        f"/projects/{project.pk}/delete/",
        f"/projects/{project.pk}/tasks/{task.pk}/edit/",
        f"/projects/{project.pk}/tasks/{task.pk}/delete/",
        "/billing/",
    ]
    for path in posts:
        assert client.post(path, {"name": "x"}).status_code == 403, path
    anonymous = csrf_client(tenant_a)
    for path in [
        "/accounts/login/",
        "/accounts/password-reset/",
        f"/invitations/accept/{issued.token}/",
    ]:
        assert anonymous.post(path, {"email": owner.email}).status_code == 403, path
    # Nothing was changed by the refused posts.
    with tenant_scope(tenant_a):
        from projects.models import Project

        assert Project.objects.filter(pk=project.pk).exists()


def test_apex_and_operator_forms_refuse_a_post_without_csrf_token():
    apex = Client(enforce_csrf_checks=True, HTTP_HOST=django_settings.BASE_DOMAIN)
    assert apex.post("/signup/", {"name": "x"}).status_code == 403
    console = Client(enforce_csrf_checks=True, HTTP_HOST=f"admin.{django_settings.BASE_DOMAIN}")
    assert console.post("/login/", {"email": "a@b.c"}).status_code == 403


WAIT = "Too many failed sign-in attempts"


def login(client, email, password):
    return client.post("/accounts/login/", {"email": email, "password": password})


def alert(response) -> str:
    body = response.content.decode()
    return body[body.index('role="alert"') :].split("</div>")[0]


def _age_failures(seconds: float) -> None:
    """As if the last failures had happened `seconds` earlier."""
    LoginFailure.objects.update(last_failure_at=F("last_failure_at") - timedelta(seconds=seconds))


def test_after_repeated_failures_the_right_password_waits_then_goes_through(
    tenant_a, tenant_b, settings
):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory(tenant=tenant_a, email="locked@alpha.test")
    client = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.1")
    for _ in range(3):
        assert LOGIN_FAILED in login(client, user.email, "wrong-password-x").content.decode()
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 200
    assert WAIT in response.content.decode()
    # Another tenant's user with the same email is not affected.
    other = UserFactory(tenant=tenant_b, email="locked@alpha.test")
    other_client = Client(HTTP_HOST=host(tenant_b), REMOTE_ADDR="10.1.0.1")
    assert login(other_client, other.email, PASSWORD).status_code == 302
    # Nor is the same account signing in from another address.
    elsewhere = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.9")
    assert login(elsewhere, user.email, PASSWORD).status_code == 302
    # Once the delay has passed, the right password goes through.
    _age_failures(settings.LOGIN_DELAY_SECONDS)
    assert login(client, user.email, PASSWORD).status_code == 302


def test_lockout_reads_the_same_for_unknown_emails(tenant_a, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    UserFactory(tenant=tenant_a, email="known@alpha.test")
    client = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.2")
    results = {}
    for email in ("known@alpha.test", "ghost@alpha.test"):
        for _ in range(2):
            login(client, email, "wrong-password-x")
        results[email] = login(client, email, "wrong-password-x")
    assert alert(results["known@alpha.test"]) == alert(results["ghost@alpha.test"])
    assert WAIT in alert(results["ghost@alpha.test"])


def test_lockout_per_client_ip_across_emails(tenant_a, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 4
    user = UserFactory(tenant=tenant_a, email="victim@alpha.test")
    attacker = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.3")
    for i in range(4):
        login(attacker, f"guess{i}@alpha.test", "wrong-password-x")
    assert WAIT in login(attacker, user.email, PASSWORD).content.decode()
    # The real user, from another address, still signs in.
    assert (
        login(
            Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.4"), user.email, PASSWORD
        ).status_code
        == 302
    )


def test_success_resets_the_per_email_counter(tenant_a, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory(tenant=tenant_a, email="oops@alpha.test")
    client = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.5")
    for _ in range(2):
        login(client, user.email, "wrong-password-x")
    assert login(client, user.email, PASSWORD).status_code == 302
    client = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.5")
    for _ in range(2):
        login(client, user.email, "wrong-password-x")
    assert login(client, user.email, PASSWORD).status_code == 302


def test_password_reset_reads_the_same_and_mails_only_real_users(
    tenant_a, tenant_b, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(tenant=tenant_a, email="real@alpha.test")
    UserFactory(tenant=tenant_b, email="elsewhere@beta.test")
    client = Client(HTTP_HOST=host(tenant_a))
    with django_capture_on_commit_callbacks(execute=True):  # the mail leaves after the commit
        known = client.post("/accounts/password-reset/", {"email": user.email}, follow=True)
        unknown = client.post(
            "/accounts/password-reset/", {"email": "nobody@alpha.test"}, follow=True
        )
        foreign = client.post(
            "/accounts/password-reset/", {"email": "elsewhere@beta.test"}, follow=True
        )
    assert known.content == unknown.content == foreign.content
    assert known.status_code == 200 and b"If an account" in known.content
    assert [m.to for m in mailoutbox] == [[user.email]]
    link = next(w for w in mailoutbox[0].body.split() if "/accounts/reset/" in w)
    assert link.startswith(f"http://{host(tenant_a)}/accounts/reset/")
    path = link.split(host(tenant_a), 1)[1]
    form = client.get(path, follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand-new-password-9", "new_password2": "brand-new-password-9"},
    )
    assert done.status_code == 302
    assert (
        login(Client(HTTP_HOST=host(tenant_a)), user.email, "brand-new-password-9").status_code
        == 302
    )
    # The link works once.
    assert b"This link cannot be used" in client.get(path, follow=True).content


def test_reset_link_of_one_tenant_is_void_on_another(
    tenant_a, tenant_b, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(tenant=tenant_a, email="real@alpha.test")
    with django_capture_on_commit_callbacks(execute=True):
        Client(HTTP_HOST=host(tenant_a)).post("/accounts/password-reset/", {"email": user.email})
    path = next(w for w in mailoutbox[0].body.split() if "/accounts/reset/" in w).split(
        host(tenant_a), 1
    )[1]
    body = Client(HTTP_HOST=host(tenant_b)).get(path, follow=True).content
    assert b"This link cannot be used" in body


def test_security_headers_on_tenant_apex_and_console(tenant_a, member):
    for client, path in [
        (signed_in(tenant_a, member), "/"),
        (Client(HTTP_HOST=django_settings.BASE_DOMAIN), "/signup/"),
        (Client(HTTP_HOST=f"admin.{django_settings.BASE_DOMAIN}"), "/login/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_when_on_https():
    code = "import django; django.setup(); from django.conf import settings as s; print(getattr(s, 'SECURE_HSTS_SECONDS', 0), s.SESSION_COOKIE_SECURE)"
    out = {}
    for flag in ("0", "1"):
        env = dict(os.environ, USE_HTTPS=flag, DJANGO_SETTINGS_MODULE="saas.settings.base")
        out[flag] = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
    assert out["0"] == ["0", "False"]
    assert out["1"] == ["31536000", "True"]


def test_hsts_header_is_sent_over_https(tenant_a, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = Client(HTTP_HOST=host(tenant_a)).get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_password_reset_requests_are_throttled_silently(
    tenant_a, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.LOGIN_FAILURE_LIMIT = 2
    user = UserFactory(tenant=tenant_a, email="flood@alpha.test")
    client = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR="10.1.0.6")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            client.post("/accounts/password-reset/", {"email": user.email}, follow=True).content
            for _ in range(4)
        ]
    assert len(set(answers)) == 1  # the same page every time
    assert len(mailoutbox) == 2  # but only two mails left
    # Resets do not count towards the sign-in lockout.
    assert login(client, user.email, PASSWORD).status_code == 302


def test_api_docs_page_runs_under_the_csp(tenant_a):
    import re

    response = Client(HTTP_HOST=host(tenant_a)).get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    # Every script is a file of this site (script-src 'self'): no inline init script.
    scripts = re.findall(r"<script([^>]*)>", body)
    assert scripts and all("src=" in attrs for attrs in scripts)
