"""Jobs followed live (htmx polling, no reload) and the export page: request, follow, download.

The test process plays the worker's part where progress must be watched step by step: it
claims the job and reports progress through the same services a worker calls (jobs.services),
committing each step, while Chromium shows the page the running server renders.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from jobs.kinds import tenant_export_job
from jobs.models import Job
from jobs.services import job_claim, job_finish, job_report
from operators.services import operator_create
from projects.services import project_create
from tenants.context import tenant_scope
from tenants.export import CUSTOMER, export_models
from tests.browser.conftest import copy_to_docs
from tests.browser.test_flows import new_org, sign_in
from tests.browser.test_newcomer import _csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Long enough for a few polls (every 2 s) on a loaded machine.
LIVE = 20_000


def _queued(tenant, kind: str, by: str, **params) -> Job:
    """A job row as job_start leaves it, before any worker took it."""
    with tenant_scope(tenant):
        return Job.objects.create(kind=kind, tenant_id=tenant.pk, params=params, requested_by=by)


def _mark_document(page) -> None:
    page.evaluate("window.__sameDocument = true")


def _same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_console_job_table_follows_a_job_without_reload(site, page, shot, committed_db):
    tenant = new_org()
    email = f"ops-{tenant.subdomain}@tenantry.test"
    operator_create(email=email, password="operator-password-1")
    job = _queued(tenant, "tenant_move", email, to="schema")
    violations = _csp_violations(page)

    page.goto(f"http://admin.localhost:{site.port}/tenants/{tenant.pk}/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("operator-password-1")
    page.get_by_role("button", name="Sign in").click()
    row = page.locator(f"#job-{job.pk}")
    expect(row).to_contain_text("Move to its own schema")
    expect(row).to_contain_text("Waiting for a worker to start it.")
    _mark_document(page)

    with tenant_scope(tenant):
        claimed = job_claim(job_id=job.pk)
        job_report(job=claimed, progress=20, message="copying rows")
    expect(row).to_contain_text("Copying rows.", timeout=LIVE)
    expect(row).to_contain_text("20%")
    expect(row.get_by_role("progressbar")).to_have_attribute("value", "20")
    assert "{" not in row.inner_text()  # words, never a Python dict
    copy_to_docs(shot(page, "running"), "operator-jobs.png")

    with tenant_scope(tenant):
        job_finish(job=claimed, result={"to": "schema"})
    expect(row).to_contain_text("Succeeded", timeout=LIVE)
    expect(row).to_contain_text("Finished.")
    expect(row).to_contain_text("100%")
    # Finished: the table stops polling; and it was the same page all along.
    expect(page.locator("#tenant-jobs")).to_have_attribute("data-polling", "off")
    assert _same_document(page)
    assert violations == []  # polling runs under the CSP (no inline script or style)
    shot(page)


def test_export_page_follows_an_export_and_offers_its_download(site, page, shot, committed_db):
    tenant = new_org()
    with tenant_scope(tenant):
        project_create(tenant=tenant, name="Apollo")
    job = _queued(tenant, "tenant_export", f"owner@{tenant.subdomain}.test")
    violations = _csp_violations(page)
    sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")
    page.get_by_role("link", name="Export", exact=True).click()
    expect(page.get_by_role("heading", name="Export your data")).to_be_visible()
    row = page.locator(f"#job-{job.pk}")
    expect(row).to_contain_text("Queued")
    _mark_document(page)

    # The worker's part: claim, report, run the export kind itself, record the outcome.
    with tenant_scope(tenant):
        claimed = job_claim(job_id=job.pk)
        job_report(job=claimed, progress=40, message="exported projects (2 of 5 tables)")
    expect(row).to_contain_text("Exported projects (2 of 5 tables).", timeout=LIVE)
    expect(row.get_by_role("progressbar")).to_have_attribute("value", "40")
    assert row.get_by_role("link", name=re.compile("Download")).count() == 0
    with tenant_scope(tenant):
        result = tenant_export_job(claimed, report=lambda *_: None)
        job_finish(job=claimed, result=result)
    download_link = row.get_by_role("link", name=re.compile("Download"))
    expect(download_link).to_be_visible(timeout=LIVE)
    assert _same_document(page) and violations == []
    copy_to_docs(shot(page), "export.png")

    with page.expect_download() as info:
        download_link.click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    header, rows = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["tenant"] == str(tenant.pk) and header["kind"] == CUSTOMER
    assert "Apollo" in {r["fields"].get("name") for r in rows}
    assert {r["fields"]["tenant_id"] for r in rows} == {str(tenant.pk)}
    # Only the customer allow-list: no password hash, token or session among the fields.
    allowed = {m._meta.label_lower: {"tenant_id", *f} for m, f in export_models(CUSTOMER)}
    for r in rows:
        assert set(r["fields"]) <= allowed[r["model"]], r["model"]
    assert "password" not in "".join(lines[1:]).lower()


def test_admin_requests_an_export_and_a_member_gets_none(site, browser, page, shot, committed_db):
    tenant = new_org(**{"mia@example.test": Role.MEMBER})
    sign_in(page, site, tenant, f"owner@{tenant.subdomain}.test")
    page.goto(site.url(tenant.subdomain, "/exports/"))
    page.get_by_role("button", name="Request an export").click()
    expect(page.get_by_text("Export requested.")).to_be_visible()
    # Without a worker (the embedded default) the export ran already; with one, it follows.
    expect(page.get_by_role("link", name=re.compile("Download"))).to_be_visible(timeout=LIVE)
    with tenant_scope(tenant):
        [job] = Job.objects.filter(tenant_id=tenant.pk, kind="tenant_export")
    download_url = site.url(tenant.subdomain, f"/exports/{job.pk}/download/")

    member_ctx = browser.new_context()
    try:
        member = member_ctx.new_page()
        sign_in(member, site, tenant, "mia@example.test")
        expect(member.get_by_role("link", name="Projects")).to_be_visible()
        assert member.get_by_role("link", name="Export", exact=True).count() == 0
        assert member.goto(site.url(tenant.subdomain, "/exports/")).status == 404
        assert member.goto(download_url).status == 404
        other = new_org()
        other_page = member_ctx.new_page()
        sign_in(other_page, site, other, f"owner@{other.subdomain}.test")
        # Another organisation's admin: the same 404 as an export that never existed.
        theirs = other_page.goto(download_url.replace(tenant.subdomain, other.subdomain))
        assert theirs.status == 404
        expect(other_page.get_by_role("heading", name="Page not found")).to_be_visible()
    finally:
        member_ctx.close()
