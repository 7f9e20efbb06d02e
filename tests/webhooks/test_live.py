"""Through the real doors: a gunicorn server, a real Celery worker on Redis, a loopback receiver."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from standardwebhooks import Webhook

from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.jobs.conftest import REDIS_URL, Worker
from tests.live import LiveServer, http
from tests.webhooks.conftest import Receiver, documented_verifier

pytestmark = pytest.mark.slow

ENV = {
    "REDIS_URL": REDIS_URL,
    "WEBHOOKS_ALLOW_PRIVATE": "1",
    "WEBHOOKS_RETRY_SCHEDULE": "0.5,0.5,0.5",
}


def _api(server, host, token, method, path, body=None):
    status, _, raw = http(
        method,
        server.url + "/api/v1/" + path,
        host,
        body=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return status, (json.loads(raw) if raw else None)


def test_a_real_worker_delivers_retries_and_signs(committed_db, test_database_url, redis_broker):
    tenant = TenantFactory(subdomain=unique_subdomain("whlive"))
    with Receiver(statuses=[500]) as receiver:
        _deliver_and_retry(tenant, test_database_url, receiver)


def _deliver_and_retry(tenant, database_url, receiver):
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    token = mint(tenant)
    with LiveServer(database_url, ENV) as server, Worker(database_url, ENV):
        status, endpoint = _api(
            server,
            host,
            token,
            "POST",
            "webhooks/",
            {"url": receiver.url(), "events": ["project.created", "project.deleted"]},
        )
        assert status == 201, endpoint
        status, project = _api(server, host, token, "POST", "projects/", {"name": "Live"})
        assert status == 201, project
        requests = receiver.wait_for(2, timeout=60)
        assert len(requests) == 2, requests
        verify = documented_verifier()
        for request in requests:
            assert verify(endpoint["secret"], request["headers"], request["body"])
            Webhook(endpoint["secret"]).verify(request["body"], request["headers"])
        payload = json.loads(requests[1]["body"])
        assert payload["type"] == "project.created" and payload["data"]["id"] == project["id"]
        delivery = _wait_log(server, host, token, endpoint, "succeeded")
        assert [a["response_status"] for a in delivery["attempt_log"]] == [500, 200]

    # SSRF through the same doors, on a server and worker with the production rule: the
    # metadata address and a name resolving to loopback are refused at registration, and
    # the loopback endpoint registered above is refused at delivery (the receiver, still
    # listening, gets nothing more).
    strict = {"REDIS_URL": REDIS_URL, "WEBHOOKS_RETRY_SCHEDULE": "0.2"}
    with LiveServer(database_url, strict) as server, Worker(database_url, strict):
        for url in ("http://169.254.169.254/latest/meta-data/", "http://localhost:8000/"):
            status, body = _api(
                server, host, token, "POST", "webhooks/", {"url": url, "events": ["plan.changed"]}
            )
            assert status == 400 and "url" in body["error"]["fields"], body
        status, _ = _api(server, host, token, "DELETE", f"projects/{project['id']}/")
        assert status == 204
        latest = _wait_log(server, host, token, endpoint, "failed")
        assert latest["event_type"] == "project.deleted"
        assert [a["error"][:8] for a in latest["attempt_log"]] == ["refused:"] * 2
    assert len(receiver.requests) == 2


def _wait_log(server, host, token, endpoint, status, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        _, log = _api(server, host, token, "GET", f"webhooks/{endpoint['id']}/deliveries/")
        latest = log["results"][0]
        if latest["status"] == status or time.monotonic() > deadline:
            assert latest["status"] == status, latest
            return latest
        time.sleep(0.2)
