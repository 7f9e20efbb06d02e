"""The main flows in a real Chromium against a live server; each saves a screenshot."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve
from playwright.sync_api import expect

from accounts.models import Role
from accounts.onboarding import organisation_create
from operators.services import operator_create
from projects.services import project_create
from tenants.context import tenant_scope
from tests.browser.conftest import copy_to_docs
from tests.conftest import unique_subdomain
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD
from tests.live import http

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def new_org(plan="pro", **users):
    """A committed tenant with an owner and the given extra users {email: role}."""
    sub = unique_subdomain("web")
    tenant = organisation_create(
        name=f"Org {sub[-4:]}",
        subdomain=sub,
        plan_code=plan,
        owner_email=f"owner@{sub}.test",
        owner_password=PASSWORD,
    )
    for email, role in users.items():
        UserFactory(tenant=tenant, email=email, role=role)
    return tenant


def sign_in(page, site, tenant, email, password=PASSWORD):
    page.goto(site.url(tenant.subdomain, "/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(site.url(tenant.subdomain, "/"))


def test_signup_to_dashboard(site, page, shot, committed_db):
    sub = unique_subdomain("signup")
    page.goto(site.url(None, "/"))
    page.get_by_role("link", name="Create your organisation").click()
    page.get_by_label("Organisation name").fill("Rocket Labs")
    page.get_by_label("Subdomain").press_sequentially(sub, delay=5)
    # The live availability check (htmx) answers while typing.
    status = page.locator("#subdomain-status")
    status.filter(has_text=f"{sub}.localhost is available").wait_for()
    page.get_by_label("Your email").fill("founder@rocket.test")
    page.get_by_label("Password").fill("rocket-science-42")
    copy_to_docs(shot(page, "form"), "signup.png")
    page.get_by_role("button", name="Create organisation").click()
    # Handed off to the new host, signed in as the owner.
    page.wait_for_url(site.url(sub, "/"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("Welcome to Rocket Labs")).to_be_visible()
    expect(page.get_by_text("founder@rocket.test · Owner")).to_be_visible()
    copy_to_docs(shot(page), "dashboard.png")
    # The availability check now says it is not available.
    page.goto(site.url(None, "/signup/"))
    page.get_by_label("Subdomain").press_sequentially(sub, delay=5)
    status = page.locator("#subdomain-status")
    status.filter(has_text="is not available").wait_for()


def test_invite_and_accept(site, browser, page, shot, committed_db):
    tenant = new_org()
    sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_label("Email").fill("colleague@example.test")
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to colleague@example.test")).to_be_visible()
    expect(page.get_by_text("colleague@example.test as admin")).to_be_visible()
    copy_to_docs(shot(page, "members"), "members.png")

    link = site.link_in_last_mail("colleague@example.test", r"http://\S+/invitations/accept/\S+/")
    assert link.startswith(site.url(tenant.subdomain, "/invitations/accept/"))
    newcomer = browser.new_context()
    try:
        other = newcomer.new_page()
        other.goto(link)
        expect(other.get_by_text("You were invited as admin")).to_be_visible()
        other.get_by_label("Your name").fill("Cleo")
        other.get_by_label("Password").fill("a-good-long-password")
        other.get_by_role("button", name=re.compile("^Join")).click()
        other.wait_for_url(site.url(tenant.subdomain, "/"))
        expect(other.get_by_text("colleague@example.test · Admin")).to_be_visible()
        shot(other)
    finally:
        newcomer.close()
    page.reload()
    expect(page.get_by_role("cell", name="colleague@example.test", exact=True)).to_be_visible()


def test_create_project(site, page, shot, committed_db):
    tenant = new_org(**{"mia@example.test": Role.MEMBER})
    sign_in(page, site, tenant, "mia@example.test")
    page.get_by_role("link", name="Projects").first.click()
    expect(page.get_by_text("No projects yet")).to_be_visible()
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name").fill("Apollo")
    page.get_by_label("Description").fill("Land on the moon")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Apollo")).to_be_visible()
    page.get_by_label("Title").fill("Build the rocket")
    page.get_by_label("Assignee").select_option(label="mia@example.test")
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("cell", name="Build the rocket", exact=True)).to_be_visible()
    copy_to_docs(shot(page), "project.png")
    # Search filters live (htmx) on the list page.
    page.get_by_role("link", name="Projects").first.click()
    page.get_by_label("Search projects by name").fill("zz")
    page.get_by_text("No project matches").wait_for()
    page.get_by_label("Search projects by name").fill("apo")
    page.get_by_role("link", name="Apollo").wait_for()
    shot(page, "search")


def test_create_token_and_use_it_with_the_api(site, page, shot, committed_db):
    tenant = new_org(**{"ada@example.test": Role.ADMIN})
    sign_in(page, site, tenant, "ada@example.test")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("CI deploy")
    page.get_by_label("Write").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token “CI deploy”").input_value()
    assert secret.startswith("tntr_")
    copy_to_docs(shot(page), "tokens.png")
    page.reload()  # the page came by redirect: a reload neither re-posts nor shows the secret
    assert page.get_by_role("cell", name=re.compile("^CI deploy tntr_")).count() == 1
    assert secret not in page.content()  # shown once

    try:
        resolve("/api/v1/projects/", urlconf=settings.TENANT_URLCONF)
    except Resolver404:
        pytest.skip("API not merged yet")
    host = f"{tenant.subdomain}.localhost:{site.port}"
    url = f"http://127.0.0.1:{site.port}/api/v1/projects/"
    status, _, body = http("GET", url, host, headers={"Authorization": f"Bearer {secret}"})
    assert status == 200, body[:300]
    assert "results" in json.loads(body) or isinstance(json.loads(body), list)
    status, _, _ = http("GET", url, host, headers={"Authorization": "Bearer tntr_nope_nope"})
    assert status in (401, 403)
    page.get_by_role("link", name="Revoke CI deploy").click()
    page.get_by_role("button", name="Revoke token").click()  # the confirmation step
    status, _, _ = http("GET", url, host, headers={"Authorization": f"Bearer {secret}"})
    assert status in (401, 403)


def test_hit_the_plan_limit_and_read_the_message(site, page, shot, committed_db):
    tenant = new_org(plan="free", **{"max@example.test": Role.MEMBER})
    with tenant_scope(tenant):
        for i in range(3):
            project_create(tenant=tenant, name=f"Project {i}")
    sign_in(page, site, tenant, "max@example.test")
    expect(page.get_by_text("3 of 3 — limit reached")).to_be_visible()
    page.goto(site.url(tenant.subdomain, "/projects/new/"))
    page.get_by_label("Name").fill("The fourth")
    page.get_by_role("button", name="Create project").click()
    alert = page.get_by_role("alert")
    assert (
        "Your Free plan allows 3 projects; you have 3. Upgrade to Pro to raise it."
        in alert.inner_text()
    )
    assert "Ask an owner or admin" in alert.inner_text()
    shot(page)
    # The owner upgrades on the billing page; then the project can be created.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")
    page.get_by_role("link", name="Billing", exact=True).click()
    copy_to_docs(shot(page, "billing"), "billing.png")
    page.get_by_role("button", name="Switch to Pro").click()
    expect(page.get_by_text("now on the Pro plan")).to_be_visible()
    page.goto(site.url(tenant.subdomain, "/projects/new/"))
    page.get_by_label("Name").fill("The fourth")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="The fourth")).to_be_visible()
    page.get_by_role("link", name="Audit log", exact=True).click()
    expect(page.get_by_role("cell", name="plan.change", exact=True)).to_be_visible()
    copy_to_docs(shot(page, "audit"), "audit.png")


def test_member_is_refused_the_tokens_page(site, page, shot, committed_db):
    tenant = new_org(**{"mo@example.test": Role.MEMBER})
    sign_in(page, site, tenant, "mo@example.test")
    assert page.get_by_role("link", name="API tokens").count() == 0
    response = page.goto(site.url(tenant.subdomain, "/tokens/"))
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("Only owners and admins")).to_be_visible()
    shot(page)


def test_operator_suspends_a_tenant_and_its_users_are_refused(
    site, browser, page, shot, committed_db
):
    tenant = new_org(**{"uma@example.test": Role.MEMBER})
    email = f"ops-{tenant.subdomain}@tenantry.test"
    operator_create(email=email, password="operator-password-1")
    user_ctx = browser.new_context()
    try:
        user_page = user_ctx.new_page()
        sign_in(user_page, site, tenant, "uma@example.test")

        page.goto(f"http://admin.localhost:{site.port}/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("operator-password-1")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Search by subdomain or name").fill(tenant.subdomain)
        page.get_by_role("button", name="Search").click()
        row = page.get_by_role("row", name=re.compile(tenant.subdomain))
        assert "Active" in row.inner_text() and "shared" in row.inner_text()
        copy_to_docs(shot(page, "console"), "operator-console.png")
        page.get_by_role("link", name=tenant.subdomain).click()
        page.get_by_label(re.compile("Reason for suspending")).fill("unpaid invoices")
        page.get_by_role("button", name="Suspend…").click()
        # The confirmation step keeps the reason and asks once more.
        assert page.get_by_label(re.compile("Reason for suspending")).input_value() == (
            "unpaid invoices"
        )
        page.get_by_role("button", name=f"Suspend {tenant.subdomain}").click()
        expect(page.get_by_text("is suspended: its users are refused now")).to_be_visible()
        shot(page)

        response = user_page.goto(site.url(tenant.subdomain, "/"))
        assert response.status == 403
        expect(user_page.get_by_text("suspended").first).to_be_visible()
        shot(user_page, "user")

        page.get_by_role("button", name="Reactivate").click()
        assert user_page.goto(site.url(tenant.subdomain, "/")).status == 200
    finally:
        user_ctx.close()


def test_core_flow_works_without_javascript(site, browser, shot, committed_db):
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        sub = unique_subdomain("nojs")
        page.goto(site.url(None, "/signup/"))
        page.get_by_label("Organisation name").fill("Plain HTML Ltd")
        page.get_by_label("Subdomain").fill(sub)
        page.get_by_label("Your email").fill("plain@html.test")
        page.get_by_label("Password").fill("rocket-science-42")
        page.get_by_role("button", name="Create organisation").click()
        page.wait_for_url(site.url(sub, "/"))
        page.goto(site.url(sub, "/projects/new/"))
        page.get_by_label("Name").fill("No script needed")
        page.get_by_role("button", name="Create project").click()
        expect(page.get_by_role("heading", name="No script needed")).to_be_visible()
        page.goto(site.url(sub, "/projects/?q=script"))
        expect(page.get_by_role("link", name="No script needed")).to_be_visible()
        shot(page)
    finally:
        ctx.close()


def test_pages_fit_a_phone_screen(site, browser, shot, committed_db):
    tenant = new_org()
    with tenant_scope(tenant):
        project_create(tenant=tenant, name="A project with a rather long name for a phone")
    ctx = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = ctx.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")
        for path in ["/", "/projects/", "/members/", "/tokens/", "/billing/", "/audit/"]:
            page.goto(site.url(tenant.subdomain, path))
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 5)"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px: {wide}"
        page.goto(site.url(tenant.subdomain, "/"))
        shot(page)
    finally:
        ctx.close()
