"""Confirmation steps (also without JavaScript), the 404 page and a 390 px phone screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from accounts.services import token_create
from jobs.services import job_start
from tenants.context import tenant_scope
from tests.browser.test_flows import new_org, sign_in
from tests.factories import ProjectFactory, TaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


def _csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return found


def test_removing_a_member_asks_first_even_without_javascript(site, browser, shot, committed_db):
    tenant = new_org(**{"leo@example.test": Role.MEMBER})
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")
        page.goto(site.url(tenant.subdomain, "/members/"))
        page.get_by_role("link", name="Remove leo@example.test").click()
        expect(page.get_by_role("heading", name="Remove leo@example.test?")).to_be_visible()
        shot(page, "confirm")
        page.get_by_role("link", name="Cancel").click()  # nothing happened
        expect(page.get_by_role("cell", name="leo@example.test", exact=True)).to_be_visible()
        page.get_by_role("link", name="Remove leo@example.test").click()
        page.get_by_role("button", name="Remove member").click()
        expect(page.get_by_text("leo@example.test was removed.")).to_be_visible()
        assert page.get_by_role("cell", name="leo@example.test", exact=True).count() == 0
    finally:
        context.close()


def test_deleting_a_task_and_revoking_a_token_ask_first(site, page, shot, committed_db):
    tenant = new_org()
    project = ProjectFactory(tenant=tenant, name="Apollo")
    TaskFactory(tenant=tenant, project=project, title="Fuel the rocket")
    with tenant_scope(tenant):
        token_create(tenant=tenant, name="nightly", scopes=["read"])
    violations = _csp_violations(page)
    sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")

    page.goto(site.url(tenant.subdomain, f"/projects/{project.pk}/"))
    page.get_by_role("link", name="Delete Fuel the rocket").click()
    expect(page.get_by_role("heading", name="Delete the task “Fuel the rocket”?")).to_be_visible()
    page.get_by_role("button", name="Delete task").click()
    expect(page.get_by_text("Task “Fuel the rocket” deleted.")).to_be_visible()

    page.goto(site.url(tenant.subdomain, "/tokens/"))
    page.get_by_role("link", name="Revoke nightly").click()
    expect(page.get_by_role("heading", name="Revoke the token “nightly”?")).to_be_visible()
    shot(page, "token")
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("was revoked; it stops working now")).to_be_visible()
    assert violations == []


def test_not_found_page_is_styled_and_leads_to_sign_in(site, page, shot, committed_db):
    tenant = new_org()
    response = page.goto(site.url(tenant.subdomain, "/no/such/page/"))
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name=tenant.name)).to_be_visible()
    # The stylesheet applied: the card has its shadow, not the browser's bare page.
    shadow = page.locator(".card").evaluate("e => getComputedStyle(e).boxShadow")
    assert shadow != "none"
    shot(page)
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(site.url(tenant.subdomain, "/accounts/login/"))
    # /login/, where people type it, lands on the same page.
    page.goto(site.url(tenant.subdomain, "/login/"))
    assert page.url == site.url(tenant.subdomain, "/accounts/login/")
    apex = page.goto(site.url(None, "/nothing-here/"))
    assert apex.status == 404
    expect(page.get_by_role("link", name="Create an organisation")).to_be_visible()


def test_tables_fit_a_390px_screen_with_their_actions_in_view(site, browser, shot, committed_db):
    tenant = new_org(**{"a-rather-long-address@example.test": Role.MEMBER})
    project = ProjectFactory(tenant=tenant, name="Apollo")
    TaskFactory(tenant=tenant, project=project, title="Fuel the rocket")
    with tenant_scope(tenant):
        token_create(tenant=tenant, name="nightly", scopes=["read", "write"])
    # An export that ran already (no worker here: it runs when the job is queued).
    with tenant_scope(tenant):
        owner = User.objects.get(tenant_id=tenant.pk, email=f"owner@{tenant.subdomain}.test")
    job_start(kind="tenant_export", tenant=tenant, requester=owner)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")
        for path, action in [
            ("/members/", "Remove a-rather-long-address@example.test"),
            ("/tokens/", "Revoke nightly"),
            (f"/projects/{project.pk}/", "Delete Fuel the rocket"),
            ("/audit/", None),
            ("/exports/", re.compile("Download the export of")),
        ]:
            page.goto(site.url(tenant.subdomain, path))
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)  # no sideways scrolling
            if action:
                box = page.get_by_role("link", name=action).bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (
                    path,
                    box,
                )
            # Each cell says which column it is (the heading is hidden on a phone).
            label = page.locator("td").first.evaluate(
                "e => getComputedStyle(e, '::before').content"
            )
            assert re.fullmatch(r'"[^"]+"', label), (path, label)
            shot(page, path.strip("/").split("/")[0] or "home")
    finally:
        context.close()
