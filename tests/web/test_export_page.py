"""The export page: browsers get a page (request, progress, download), programs keep the JSON."""

from __future__ import annotations

import uuid

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_claim, job_finish, job_report
from tenants.context import tenant_scope
from tests.factories import ProjectFactory, UserFactory
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _exports(tenant) -> list[Job]:
    with tenant_scope(tenant):
        return list(Job.objects.filter(tenant_id=tenant.pk, kind="tenant_export"))


def test_a_browser_gets_the_page_and_a_program_the_json(tenant_a, admin):
    client = signed_in(tenant_a, admin)
    page = client.get("/exports/", **BROWSER)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "Request an export" in html and "No export yet" in html
    assert 'aria-current="page">Export</a>' in html
    assert client.get("/exports/").json() == {"exports": []}
    assert "Accept" in page["Vary"]


def test_requesting_from_the_page_runs_the_export_and_offers_the_download(
    tenant_a, admin, django_capture_on_commit_callbacks
):
    ProjectFactory(tenant=tenant_a, name="Apollo")
    client = signed_in(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/exports/", **BROWSER)
    assert response.status_code == 302 and response["Location"] == "/exports/"
    [job] = _exports(tenant_a)
    # The global job row names the requester by id; the page shows the address, read from
    # the tenant's placement (docs/residency.md).
    assert (job.status, job.requester_id, job.requested_by) == (JobStatus.SUCCEEDED, admin.pk, "")
    html = client.get("/exports/", **BROWSER).content.decode()
    assert f'<td data-label="By">{admin.email}</td>' in html
    assert "Export requested." in html and "Succeeded" in html and "Finished." in html
    assert f'href="/exports/{job.pk}/download/"' in html
    assert 'data-polling="off"' in html and "hx-trigger" not in html
    download = client.get(f"/exports/{job.pk}/download/")
    assert download.status_code == 200 and download["Cache-Control"] == "private, no-store"
    assert b"Apollo" in b"".join(download.streaming_content)


def test_an_unfinished_export_is_polled_and_reported_in_words(tenant_a, admin):
    client = signed_in(tenant_a, admin)
    client.post("/exports/", **BROWSER)  # never committed here: the job stays queued
    [job] = _exports(tenant_a)
    html = client.get("/exports/", **BROWSER).content.decode()
    assert 'hx-get="/exports/progress/"' in html and 'hx-trigger="every 2s"' in html
    assert "Waiting for a worker to start it." in html and "/download/" not in html
    with tenant_scope(tenant_a):
        job_claim(job_id=job.pk)
        job_report(job=job, progress=40, message="exported tasks (4 of 10 tables)")
    partial = client.get("/exports/progress/").content.decode()
    assert "<html" not in partial and 'id="export-jobs"' in partial
    assert 'value="40"' in partial and "Exported tasks (4 of 10 tables)." in partial
    assert "Running" in partial and "hx-trigger" in partial


def test_members_and_other_tenants_see_no_export(tenant_a, tenant_b, admin, member):
    signed_in(tenant_a, admin).post("/exports/", **BROWSER)
    [job] = _exports(tenant_a)
    with tenant_scope(tenant_a):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    as_member = signed_in(tenant_a, member)
    for path in ("/exports/", "/exports/progress/", f"/exports/{job.pk}/download/"):
        assert as_member.get(path, **BROWSER).status_code == 404, path
    other = signed_in(tenant_b, UserFactory(tenant=tenant_b, email="o@b.test", role="owner"))
    assert str(job.pk) not in other.get("/exports/progress/").content.decode()
    theirs = other.get(f"/exports/{job.pk}/download/", **BROWSER)
    nowhere = other.get(f"/exports/{uuid.uuid4()}/download/", **BROWSER)
    # No existence oracle: another tenant's export answers exactly like one that never was.
    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.content == nowhere.content


def test_a_poll_after_the_session_ended_moves_the_page_to_sign_in(tenant_a):
    from django.test import Client

    from tests.web.conftest import host

    client = Client(HTTP_HOST=host(tenant_a))
    polled = client.get("/exports/progress/", HTTP_HX_REQUEST="true")
    assert polled.status_code == 204
    assert polled["HX-Redirect"].startswith("/accounts/login/?next=/exports/progress/")
    # Without htmx it is the ordinary redirect.
    assert client.get("/exports/progress/").status_code == 302


def test_a_failed_export_tells_the_tenant_what_to_do_not_the_error(tenant_a, admin):
    client = signed_in(tenant_a, admin)
    client.post("/exports/", **BROWSER)
    [job] = _exports(tenant_a)
    with tenant_scope(tenant_a):
        claimed = job_claim(job_id=job.pk)
        job_finish(job=claimed, error='OperationalError: server at "db-7.internal" closed')
    for body in (
        client.get("/exports/", **BROWSER).content.decode(),
        client.get("/exports/").content.decode(),
    ):
        assert "db-7.internal" not in body and "OperationalError" not in body
        assert "Request it again" in body


def test_one_export_at_a_time_and_a_lost_one_does_not_block(tenant_a, admin):
    from datetime import timedelta

    from django.utils import timezone

    client = signed_in(tenant_a, admin)
    client.post("/exports/", **BROWSER)  # stays queued: never committed here
    again = client.post("/exports/", follow=True, **BROWSER)
    assert "An export is already being prepared" in again.content.decode()
    [job] = _exports(tenant_a)
    as_json = client.post("/exports/")
    assert as_json.status_code == 200 and as_json.json()["id"] == str(job.pk)
    with tenant_scope(tenant_a):  # a worker never came back for it
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert client.post("/exports/").status_code == 202
    assert len(_exports(tenant_a)) == 2
