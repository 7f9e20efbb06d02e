"""Jobs: queued only after commit, a clear error when the broker is down, exports per tenant."""

from __future__ import annotations

import json
import time

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.test import Client

from accounts.invitations import invitation_create
from accounts.password_reset import password_reset_request
from jobs.models import Job, JobStatus
from jobs.services import JobError, QueueUnavailable, job_start
from saas.celery import app
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.jobs.conftest import REDIS_URL
from tests.live import free_port


class Rollback(Exception):
    pass


def _queue_length() -> int:
    prefix = app.conf.broker_transport_options.get("global_keyprefix", "")
    return redis.Redis.from_url(REDIS_URL).llen(prefix + app.conf.task_default_queue)


def test_queues_are_namespaced_per_checkout_and_test_worker():
    assert settings.CELERY_NAMESPACE in app.conf.task_default_queue
    assert app.conf.broker_transport_options["global_keyprefix"].startswith(
        settings.CELERY_NAMESPACE
    )


@pytest.mark.slow
def test_a_rolled_back_transaction_queues_nothing(committed_db, redis_broker):
    tenant = TenantFactory(subdomain=unique_subdomain("rb"))
    with pytest.raises(Rollback), transaction.atomic():
        job = job_start(kind="tenant_export", tenant=tenant)
        raise Rollback
    with tenant_scope(tenant):  # job rows are under RLS
        assert not Job.objects.filter(pk=job.pk).exists()
    assert _queue_length() == 0

    with transaction.atomic():
        job = job_start(kind="tenant_export", tenant=tenant)
        assert _queue_length() == 0, "nothing is sent before the commit"
    assert _queue_length() == 1
    with tenant_scope(tenant):
        assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    redis_broker.control.purge()


@pytest.mark.slow
def test_broker_down_fails_cleanly_and_leaves_no_queued_job(committed_db, broker_at):
    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    tenant = TenantFactory(subdomain=unique_subdomain("down"))
    started = time.monotonic()
    with pytest.raises(QueueUnavailable, match="queue is unavailable"):
        job_start(kind="tenant_export", tenant=tenant, requested_by="test")
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"queueing against a dead broker took {elapsed:.1f}s"
    with tenant_scope(tenant):
        job = Job.objects.get(tenant_id=tenant.pk)
    assert job.status == JobStatus.FAILED and "unavailable" in job.message
    assert job.finished_at is not None


@pytest.mark.slow
def test_export_view_reports_a_down_broker_as_503(committed_db, broker_at):
    broker_at(f"redis://127.0.0.1:{free_port()}/0")
    tenant = TenantFactory(subdomain=unique_subdomain("down"))
    UserFactory(tenant=tenant, email="admin@down.test", role="admin")
    client = Client()
    _login(client, tenant, "admin@down.test")
    response = client.post("/exports/", HTTP_HOST=_host(tenant))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "queue_unavailable"
    with tenant_scope(tenant):
        assert not Job.objects.filter(tenant_id=tenant.pk, status=JobStatus.QUEUED).exists()


def test_job_kinds_check_their_tenant_requirement(db, tenant_a):
    with pytest.raises(JobError, match="needs a tenant"):
        job_start(kind="tenant_export")
    with pytest.raises(LookupError, match="unknown job kind"):
        job_start(kind="no_such_kind", tenant=tenant_a)


# --- the export download, in-process (tasks run eagerly on commit) ---------------------------


def _host(tenant):
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"


def _login(client, tenant, email):
    response = client.post(
        "/accounts/login/", {"email": email, "password": PASSWORD}, HTTP_HOST=_host(tenant)
    )
    assert response.status_code == 302


@pytest.fixture
def exported(db, tenant_a, tenant_b, django_capture_on_commit_callbacks):
    UserFactory(tenant=tenant_a, email="admin@a.test", role="admin")
    UserFactory(tenant=tenant_a, email="member@a.test", role="member")
    UserFactory(tenant=tenant_b, email="admin@b.test", role="owner")
    ProjectFactory(tenant=tenant_a, name="alpha-secret")
    ProjectFactory(tenant=tenant_b, name="beta-secret")
    client = Client()
    _login(client, tenant_a, "admin@a.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/exports/", HTTP_HOST=_host(tenant_a))
    assert response.status_code == 202
    return response.json()["id"]


def test_admin_starts_lists_and_downloads_an_export(exported, tenant_a):
    client = Client()
    _login(client, tenant_a, "admin@a.test")
    listing = client.get("/exports/", HTTP_HOST=_host(tenant_a)).json()["exports"]
    assert [e["id"] for e in listing] == [exported]
    assert listing[0]["status"] == "succeeded" and listing[0]["progress"] == 100
    response = client.get(f"/exports/{exported}/download/", HTTP_HOST=_host(tenant_a))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    rows = [json.loads(line) for line in lines[1:]]
    assert {r["fields"]["tenant_id"] for r in rows} == {str(tenant_a.pk)}
    assert "alpha-secret" in "".join(lines) and "beta-secret" not in "".join(lines)


def test_another_tenants_export_is_404(exported, tenant_b):
    client = Client()
    _login(client, tenant_b, "admin@b.test")
    for path in (f"/exports/{exported}/", f"/exports/{exported}/download/"):
        assert client.get(path, HTTP_HOST=_host(tenant_b)).status_code == 404
    assert client.get("/exports/", HTTP_HOST=_host(tenant_b)).json() == {"exports": []}


def test_members_cannot_see_or_start_exports(exported, tenant_a):
    client = Client()
    _login(client, tenant_a, "member@a.test")
    assert (
        client.get(f"/exports/{exported}/download/", HTTP_HOST=_host(tenant_a)).status_code == 404
    )
    assert client.post("/exports/", HTTP_HOST=_host(tenant_a)).status_code == 404
    with tenant_scope(tenant_a):
        assert Job.objects.filter(tenant_id=tenant_a.pk).count() == 1


def test_anonymous_is_sent_to_login(exported, tenant_a):
    response = Client().get(f"/exports/{exported}/download/", HTTP_HOST=_host(tenant_a))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- emails ----------------------------------------------------------------------------------


def test_invitation_email_is_sent_after_commit_with_the_accept_link(
    db, tenant_a, django_capture_on_commit_callbacks
):
    owner = UserFactory(tenant=tenant_a, email="owner@a.test", role="owner")
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(tenant_a):
        issued = invitation_create(tenant=tenant_a, email="new@a.test", invited_by=owner)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@a.test"]
    assert f"{tenant_a.subdomain}.{settings.BASE_DOMAIN}/invitations/accept/{issued.token}/" in (
        message.body
    )
    assert tenant_a.name in message.subject


def test_invitation_email_is_not_sent_twice(db, tenant_a, django_capture_on_commit_callbacks):
    from accounts.tasks import send_invitation_email
    from tenants.models import OutboxMessage
    from tenants.outbox import OUTBOX_HEADER

    with django_capture_on_commit_callbacks(execute=True), tenant_scope(tenant_a):
        issued = invitation_create(tenant=tenant_a, email="twice@a.test")
    with tenant_scope(tenant_a):
        row = OutboxMessage.objects.get(tenant_id=tenant_a.pk)
        again = send_invitation_email.apply_async(  # a redelivered message
            args=[str(issued.invitation.pk)],
            task_id=str(row.pk),
            headers={OUTBOX_HEADER: str(row.pk)},
        )
    assert again.get() == "skipped: already done"
    assert len(mail.outbox) == 1


def test_an_email_task_queued_without_a_tenant_sends_nothing(db, tenant_a):
    from accounts.tasks import send_invitation_email

    with tenant_scope(tenant_a):
        issued = invitation_create(tenant=tenant_a, email="ghost@a.test")
    result = send_invitation_email.apply_async(args=[str(issued.invitation.pk)])
    assert result.get().startswith("refused")
    assert mail.outbox == []


@pytest.mark.slow
def test_a_rolled_back_invitation_sends_no_email(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("mail"))
    with tenant_scope(tenant):
        with pytest.raises(Rollback), transaction.atomic():
            invitation_create(tenant=tenant, email="never@mail.test")
            raise Rollback
        assert mail.outbox == []
        invitation_create(tenant=tenant, email="yes@mail.test")
    assert [m.to for m in mail.outbox] == [["yes@mail.test"]]


def test_password_reset_email(db, tenant_a, django_capture_on_commit_callbacks):
    UserFactory(tenant=tenant_a, email="forgot@a.test")
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(tenant_a):
        assert password_reset_request(tenant=tenant_a, email="Forgot@a.test") is True
        assert password_reset_request(tenant=tenant_a, email="nobody@a.test") is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["forgot@a.test"]
    assert f"{tenant_a.subdomain}.{settings.BASE_DOMAIN}/accounts/reset/" in mail.outbox[0].body


def test_a_job_whose_tenant_was_deleted_fails_instead_of_hanging(
    db, django_capture_on_commit_callbacks
):
    tenant = TenantFactory(subdomain=unique_subdomain("gone"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_start(kind="tenant_export", tenant=tenant)
    type(tenant).objects.using("operator").filter(
        pk=tenant.pk
    ).delete()  # no rows yet: the registry row can go
    for callback in callbacks:
        callback()
    with tenant_scope(tenant):  # the row keeps its tenant's id: RLS shows it in that scope
        job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "no longer exists" in job.message


@pytest.mark.slow
def test_operator_move_job_moves_the_tenant_with_progress(committed_db, settings):
    """An operator kind about a tenant: runs with no tenant in context, reports progress."""
    from tenants.models import Tenant
    from tests.conftest import make_tenant

    tenant = make_tenant("shared", "mv")
    ProjectFactory(tenant=tenant, name="moving-row")
    job = job_start(kind="tenant_move", tenant=tenant, params={"to": "schema"}, requested_by="op")
    # The old instance names the placement the tenant left (fenced): read with a fresh one.
    with tenant_scope(Tenant.objects.select_related("plan").get(pk=tenant.pk)):
        job.refresh_from_db()  # eager here: it ran when job_start's transaction committed
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert (job.progress, job.result["to"], job.attempts) == (100, "schema", 1)
    moved = Tenant.objects.select_related("plan").get(pk=tenant.pk)
    assert moved.isolation == "schema"
    from projects.models import Project

    with tenant_scope(moved):
        assert list(Project.objects.values_list("name", flat=True)) == ["moving-row"]


@pytest.mark.slow
def test_start_job_command_with_params(committed_db, settings, capsys):
    from django.core.management import call_command

    from tests.conftest import make_tenant

    tenant = make_tenant("shared", "cmdmv")
    call_command("start_job", "tenant_move", tenant=tenant.subdomain, param=["to=schema"])
    from tenants.models import Tenant

    with tenant_scope(Tenant.objects.select_related("plan").get(pk=tenant.pk)):  # moved: fresh
        job = Job.objects.get(tenant_id=tenant.pk)
    assert (job.kind, job.status, job.params) == ("tenant_move", "succeeded", {"to": "schema"})
    assert str(job.pk) in capsys.readouterr().out
