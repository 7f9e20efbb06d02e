"""The transactional outbox in-process: committed with the change, published after it, run once,
never for a tenant that is not active."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.invitations import invitation_create
from accounts.password_reset import password_reset_request
from jobs.models import JobStatus
from jobs.services import job_start
from saas.celery import app
from tenants.context import tenant_scope
from tenants.control import control_alias
from tenants.models import OutboxMessage, OutboxStatus, Tenant, TenantStatus
from tenants.outbox import outbox_drain
from tenants.routers import data_alias
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live import free_port


class Rollback(Exception):
    pass


def _rows(tenant):
    with tenant_scope(tenant):
        return list(OutboxMessage.objects.filter(tenant_id=tenant.pk).order_by("created_at"))


def _set_status(tenant, status):
    Tenant.objects.using(control_alias("test")).filter(pk=tenant.pk).update(status=status)


def test_the_row_commits_with_the_change_and_a_rollback_leaves_neither(
    tenant_a, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        tenant_scope(tenant_a),
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        invitation_create(tenant=tenant_a, email="never@alpha.test")
        raise Rollback
    assert _rows(tenant_a) == [] and mail.outbox == []


def test_the_row_is_invisible_to_another_tenant(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        invitation_create(tenant=tenant_a, email="mine@alpha.test")
    assert len(_rows(tenant_a)) == 1
    with tenant_scope(tenant_b):
        assert OutboxMessage.unscoped.count() == 0  # RLS, not only the manager's filter


@pytest.mark.parametrize("status", [TenantStatus.SUSPENDED, TenantStatus.DELETING])
def test_a_suspended_tenants_reset_mail_is_refused_and_says_why(
    tenant_a, status, django_capture_on_commit_callbacks
):
    UserFactory(tenant=tenant_a, email="forgot@alpha.test")
    with django_capture_on_commit_callbacks(execute=False) as callbacks, tenant_scope(tenant_a):
        assert password_reset_request(tenant=tenant_a, email="forgot@alpha.test")
    _set_status(tenant_a, status)  # suspended between the request and the worker
    for callback in callbacks:
        callback()
    assert mail.outbox == []
    [row] = _rows(tenant_a)
    assert row.status == OutboxStatus.REFUSED and status in row.message


def _fresh(prefix):
    return TenantFactory(subdomain=unique_subdomain(prefix))


@pytest.mark.slow
def test_a_moving_tenants_work_waits_and_runs_after_the_move(committed_db):
    tenant_a = _fresh("omove")
    UserFactory(tenant=tenant_a, email="forgot@alpha.test")
    _set_status(tenant_a, TenantStatus.MOVING)
    with tenant_scope(tenant_a):
        password_reset_request(tenant=tenant_a, email="forgot@alpha.test")
    [row] = _rows(tenant_a)
    assert mail.outbox == [] and row.status == OutboxStatus.PENDING
    assert row.available_at > timezone.now() and "moving" in row.message
    _set_status(tenant_a, TenantStatus.ACTIVE)
    outbox_drain(tenants=[tenant_a], now=timezone.now() + timedelta(minutes=5))
    assert [m.to for m in mail.outbox] == [["forgot@alpha.test"]]
    assert _rows(tenant_a)[0].status == OutboxStatus.DONE


def test_a_suspended_tenants_job_is_refused_with_the_reason(db, django_capture_on_commit_callbacks):
    tenant = TenantFactory(subdomain=unique_subdomain("jsus"))
    _set_status(tenant, TenantStatus.SUSPENDED)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="tenant_export", tenant=tenant)  # eager: runs at commit
    with tenant_scope(tenant):
        job.refresh_from_db()
    assert job.status == JobStatus.REFUSED and "suspended" in job.message
    assert job.is_finished


@pytest.fixture
def closed_broker():
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    from tests.jobs.conftest import _reset_connections

    app.conf.update(broker_url=f"redis://127.0.0.1:{free_port()}/0", task_always_eager=False)
    _reset_connections()
    yield
    app.conf.update(saved)
    _reset_connections()


@pytest.mark.slow
def test_broker_down_after_the_commit_keeps_the_work_and_raises_nothing(
    committed_db, closed_broker
):
    tenant_a = _fresh("odown")
    with tenant_scope(tenant_a):
        issued = invitation_create(tenant=tenant_a, email="later@alpha.test")
    [row] = _rows(tenant_a)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "unavailable" in row.message and mail.outbox == []

    app.conf.update(task_always_eager=True)  # the broker is back (in-process here)
    assert outbox_drain(tenants=[tenant_a], waiting=True)["published"] == 1
    assert outbox_drain(tenants=[tenant_a], waiting=True)["published"] == 0
    assert [m.to for m in mail.outbox] == [["later@alpha.test"]]
    assert issued.token in mail.outbox[0].body
    [row] = _rows(tenant_a)
    assert row.status == OutboxStatus.DONE and row.args == [] and row.kwargs == {}


@pytest.mark.slow
def test_the_drain_stamps_each_rows_own_tenant(committed_db, closed_broker):
    tenant_a, tenant_b = _fresh("oa"), _fresh("ob")
    for tenant in (tenant_a, tenant_b):
        with tenant_scope(tenant):
            invitation_create(tenant=tenant, email=f"x@{tenant.subdomain}.test")
    app.conf.update(task_always_eager=True)
    with tenant_scope(tenant_b):  # whatever the drain's own context, each row runs in its tenant
        assert outbox_drain(tenants=[tenant_a, tenant_b], waiting=True)["published"] == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"x@{t.subdomain}.test" for t in (tenant_a, tenant_b)
    )
    assert all(
        m.subject.endswith(t.name)
        for m, t in zip(
            sorted(mail.outbox, key=lambda m: m.to[0]),
            sorted((tenant_a, tenant_b), key=lambda t: f"x@{t.subdomain}.test"),
            strict=True,
        )
    )


@pytest.mark.slow
def test_one_mail_in_every_isolation_mode(committed_db, mode):
    """Database mode: the row is held in the main database and released by the tenant's commit."""
    from tests.conftest import make_tenant

    tenant = make_tenant(mode, f"om{mode[:2]}")
    with tenant_scope(tenant):
        invitation_create(tenant=tenant, email=f"in@{mode}.test")
        with pytest.raises(Rollback), transaction.atomic(using=data_alias(tenant)):
            invitation_create(tenant=tenant, email=f"never@{mode}.test")
            raise Rollback
    assert [m.to for m in mail.outbox] == [[f"in@{mode}.test"]]
    statuses = [r.status for r in _rows(tenant)]
    if mode == "database":  # its rollback could not take the main database's row with it
        assert statuses == [OutboxStatus.DONE, OutboxStatus.HELD]
        # Never released: published after HOLD_TIMEOUT, the task finds no pending invitation.
        outbox_drain(tenants=[tenant], now=timezone.now() + timedelta(hours=1))
        assert [r.status for r in _rows(tenant)] == [OutboxStatus.DONE, OutboxStatus.DONE]
        assert _rows(tenant)[1].message == "skipped: not pending"
        assert len(mail.outbox) == 1
    else:
        assert statuses == [OutboxStatus.DONE]
