"""Secrets never leave through the task queue: not in outbox rows, broker messages or worker logs.

Through the real doors: an invitation created with the API of a live server, the
relay publishing to a real (private) Redis, a real worker sending the mail at
INFO log level, where Celery logs every task it receives and finishes.
"""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tenants.context import tenant_scope
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.jobs.conftest import Worker
from tests.jobs.test_redis_down import RedisServer
from tests.live import ROOT, LiveServer
from tests.live import http as live_http

pytestmark = pytest.mark.slow


def _mails(mail_dir) -> list[str]:
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


def _outbox(tenant):
    from tenants.models import OutboxMessage

    with tenant_scope(tenant):
        return list(OutboxMessage.objects.filter(tenant_id=tenant.pk).order_by("created_at"))


def _queued_messages(url: str) -> list[str]:
    """Every message waiting in the broker, as text: the envelope and its decoded body."""
    import redis

    client = redis.Redis.from_url(url)
    out = []
    for key in client.keys("*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            text = raw.decode(errors="replace")
            envelope = json.loads(text)
            body = envelope.get("body", "")
            if envelope.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body).decode(errors="replace")
            out.append(text + "\n" + body)
    return out


def test_an_invitation_token_reaches_the_mail_and_nothing_else(
    committed_db, test_database_url, tmp_path
):
    tenant = TenantFactory(subdomain=unique_subdomain("tsec"))
    UserFactory(tenant=tenant, email="owner@tsec.test", role="owner")
    api_token = mint(tenant)
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    mail_env = {
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path),
        "TEST_LOG_LEVEL": "INFO",  # Celery's received/succeeded lines are INFO
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)  # the private Redis's working directory
    with RedisServer() as broker:
        server = LiveServer(test_database_url, {"REDIS_URL": broker.url, **mail_env})
        server.env["PUBLIC_PORT"] = str(server.port)
        with server:
            status, _, body = live_http(
                "POST",
                server.url + "/api/v1/invitations/",
                host,
                body=json.dumps({"email": "secret@tsec.test"}).encode(),
                headers={
                    "Authorization": f"Bearer {api_token}",
                    "Content-Type": "application/json",
                },
            )
            assert status == 201, body[:500]
            accept_url = json.loads(body)["accept_url"]
            token = accept_url.rstrip("/").rsplit("/", 1)[1]
            assert len(token) >= 32

            # Published and waiting for a worker: the row and the message hold no token.
            assert _wait_for(lambda: _outbox(tenant)[0].status == "published")
            [row] = _outbox(tenant)
            assert token not in json.dumps([row.args, row.kwargs, row.message])
            queued = _queued_messages(broker.url)
            assert any("accounts.send_invitation_email" in m for m in queued), queued
            assert not any(token in m for m in queued)

            worker_env = {**mail_env, "REDIS_URL": broker.url, "PUBLIC_PORT": str(server.port)}
            with Worker(test_database_url, worker_env) as worker:
                assert _wait_for(lambda: _outbox(tenant)[0].status == "done"), _outbox(tenant)
                assert _wait_for(lambda: "succeeded" in worker.log.read_text())

            # The mail still carries the one working link, the one the API returned.
            [mail] = _mails(tmp_path)
            assert "To: secret@tsec.test" in mail
            link = re.search(r"http://\S+/invitations/accept/\S+/", mail).group(0)
            assert link == accept_url
            parts = urlsplit(link)
            status, _, page = live_http("GET", server.url + parts.path, parts.netloc)
            assert status == 200 and b"secret@tsec.test" in page

    log = worker.log.read_text()
    # The worker did log the task at INFO (received and succeeded), by name and id...
    assert f"accounts.send_invitation_email[{row.pk}] received" in log, log[-3000:]
    assert f"accounts.send_invitation_email[{row.pk}] succeeded" in log, log[-3000:]
    # ...and neither it nor the server printed the token.
    assert token not in log
    assert token not in server.log.read_text()
