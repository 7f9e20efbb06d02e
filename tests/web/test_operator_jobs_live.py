"""The console's job table as a polled fragment: words, progress, polling only while unfinished."""

from __future__ import annotations

import pytest

from jobs.models import Job
from jobs.services import job_claim, job_finish, job_report
from tenants.context import tenant_scope
from tests.web.test_operator import console, operator  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_fragment_follows_a_job_and_stops_polling_when_it_finished(tenant_a, operator):  # noqa: F811
    ops = console(operator)
    url = f"/tenants/{tenant_a.pk}/jobs/table/"
    with tenant_scope(tenant_a):
        job = Job.objects.create(kind="tenant_move", tenant_id=tenant_a.pk, params={"to": "schema"})
        job_claim(job_id=job.pk)
        job_report(job=job, progress=20, message="copying rows")
    fragment = ops.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'id="tenant-jobs"' in fragment
    assert "Move to its own schema" in fragment and "Copying rows." in fragment
    assert 'value="20"' in fragment and f'hx-get="{url}"' in fragment
    assert "{'to'" not in fragment and "tenant_move" not in fragment
    with tenant_scope(tenant_a):
        job_finish(job=job, result={})
    fragment = ops.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Succeeded" in fragment and "Finished." in fragment
    assert "hx-trigger" not in fragment and 'data-polling="off"' in fragment


def test_a_poll_without_an_operator_session_moves_the_page_to_sign_in(tenant_a, operator):  # noqa: F811
    polled = console().get(f"/tenants/{tenant_a.pk}/jobs/table/", HTTP_HX_REQUEST="true")
    assert polled.status_code == 204 and polled["HX-Redirect"].startswith("/login/?next=")
