"""A task run refused by a placement fence (a move's switch) is run again, not lost."""

from __future__ import annotations

import time

import pytest

from accounts.password_reset import password_reset_request
from tenants import fence
from tenants.backends import backend_for
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.jobs.conftest import Worker
from tests.jobs.test_outbox_live import _mails, _outbox, _wait_for

pytestmark = pytest.mark.slow


def test_a_task_refused_by_a_moves_fence_runs_once_the_fence_is_gone(
    committed_db, test_database_url, redis_broker, tmp_path
):
    tenant = TenantFactory(subdomain=unique_subdomain("ofnc"))
    UserFactory(tenant=tenant, email="forgot@ofnc.test")
    with tenant_scope(tenant):  # accepted and queued to the real Redis
        assert password_reset_request(tenant=tenant, email="forgot@ofnc.test")
    placement = backend_for(tenant).placement(tenant)
    mail_env = {
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path),
    }
    fence.fence(placement, tenant.pk, "test: a move switching the tenant")
    try:
        with Worker(test_database_url, mail_env) as worker:
            assert _wait_for(
                lambda: "send_password_reset_email" in worker.log.read_text(), timeout=60
            )
            time.sleep(3)  # the run meets the fence
            fence.lift(placement, tenant.pk)  # switched: the registry's placement serves
            assert _wait_for(lambda: _mails(tmp_path), timeout=60), worker.log.read_text()[-3000:]
    finally:
        fence.lift(placement, tenant.pk)
    assert "is fenced" in worker.log.read_text()
    assert len(_mails(tmp_path)) == 1
    [row] = _outbox(tenant)
    assert row.status == "done", row.message
