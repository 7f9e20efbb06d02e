"""The outbox through the real doors: a live server, a real worker, the drain command, real Redis."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tenants.context import tenant_scope
from tenants.control import control_alias
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.jobs.conftest import Worker
from tests.jobs.test_redis_down import RedisServer
from tests.live import ROOT, LiveServer
from tests.live import http as live_http

pytestmark = pytest.mark.slow


def _mails(mail_dir) -> list[str]:
    # The file backend writes one file per connection; a file may hold several messages.
    text = "".join(p.read_text() for p in sorted(mail_dir.glob("*.log")))
    return [m for m in re.split(r"^-{40,}$", text, flags=re.M) if "Subject:" in m]


def _wait_for(predicate, timeout=60, step=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(database_url, **extra):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "saas.settings.test"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _outbox(tenant):
    from tenants.models import OutboxMessage

    with tenant_scope(tenant):
        return list(OutboxMessage.objects.filter(tenant_id=tenant.pk).order_by("created_at"))


def test_invitation_accepted_while_the_broker_is_down_is_mailed_once_when_it_returns(
    committed_db, test_database_url, tmp_path
):
    tenant = TenantFactory(subdomain=unique_subdomain("obox"))
    UserFactory(tenant=tenant, email="owner@obox.test", role="owner")
    token = mint(tenant)
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    mail_env = {
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path),
    }
    broker = RedisServer()  # its address, with nothing listening there yet: the broker is down
    server = LiveServer(test_database_url, {"REDIS_URL": broker.url, **mail_env})
    server.env["PUBLIC_PORT"] = str(server.port)
    with server:
        started = time.monotonic()
        status, _, body = live_http(
            "POST",
            server.url + "/api/v1/invitations/",
            host,
            body=json.dumps({"email": "late@obox.test"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert status == 201, body[:500]
        assert time.monotonic() - started < 10
        accept_url = json.loads(body)["accept_url"]
        assert _mails(tmp_path) == []
        [row] = _outbox(tenant)
        assert (row.status, row.attempts) == ("pending", 1), row.message

        # The broker is back: the drain command publishes, a real worker sends the mail once.
        back = _env(test_database_url, REDIS_URL=broker.url, PUBLIC_PORT=str(server.port))
        worker_env = {**mail_env, "REDIS_URL": broker.url, "PUBLIC_PORT": str(server.port)}
        with broker, Worker(test_database_url, worker_env):
            for _ in range(2):  # a second drain finds nothing left to publish
                done = _manage("drain_outbox", "--tenant", tenant.subdomain, env=back)
                assert done.returncode == 0, done.stderr[-2000:]
            assert _wait_for(lambda: _outbox(tenant)[0].status == "done"), _outbox(tenant)[0]
            time.sleep(1)  # room for a duplicate to show up, were there one
        mails = _mails(tmp_path)
        assert len(mails) == 1 and "To: late@obox.test" in mails[0]
        link = re.search(r"http://\S+/invitations/accept/\S+/", mails[0]).group(0)
        assert link == accept_url
        parts = urlsplit(link)
        assert (parts.hostname, parts.port) == (host, server.port)
        status, _, page = live_http("GET", server.url + parts.path, parts.netloc)
        assert status == 200 and b"late@obox.test" in page


def test_a_suspended_tenants_queued_reset_is_not_run_by_the_worker(
    committed_db, test_database_url, redis_broker, tmp_path
):
    from accounts.password_reset import password_reset_request

    tenant = TenantFactory(subdomain=unique_subdomain("osus"))
    UserFactory(tenant=tenant, email="forgot@osus.test")
    with tenant_scope(tenant):  # queued to the real Redis while the tenant is active
        assert password_reset_request(tenant=tenant, email="forgot@osus.test")
    suspended = _manage(
        "suspend_tenant", tenant.subdomain, "--reason", "unpaid", env=_env(test_database_url)
    )
    assert suspended.returncode == 0, suspended.stderr[-2000:]
    mail_env = {
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path),
    }
    with Worker(test_database_url, mail_env) as worker:
        _wait_for(lambda: "accounts.send_password_reset_email" in worker.log.read_text())
        _wait_for(lambda: "succeeded" in worker.log.read_text(), timeout=20)
    assert _mails(tmp_path) == [], "the worker ran a suspended tenant's task"
    [row] = _outbox(tenant)
    assert row.status == "refused" and "suspended" in row.message


def test_a_moving_tenants_job_waits_on_a_real_worker_and_runs_after_the_move(
    committed_db, test_database_url, redis_broker
):
    from jobs.models import Job
    from jobs.services import job_start
    from tenants.models import Tenant

    tenant = TenantFactory(subdomain=unique_subdomain("omv"))
    Tenant.objects.using(control_alias("test")).filter(pk=tenant.pk).update(status="moving")
    job = job_start(kind="tenant_export", tenant=tenant, requested_by="test")

    def read():  # job rows are the tenant's (RLS)
        with tenant_scope(tenant):
            return Job.objects.get(pk=job.pk)

    with Worker(test_database_url):
        waiting = _wait_for(lambda: "moving" in read().message)
        assert waiting and read().status == "queued"
        Tenant.objects.using(control_alias("test")).filter(pk=tenant.pk).update(
            status="active"
        )  # the move is over
        # The retried message (30 s later) still names the tenant: the export runs in it.
        done = _wait_for(lambda: read().status == "succeeded", timeout=90)
    job = read()
    assert done, (job.status, job.message)
    assert job.attempts == 1
