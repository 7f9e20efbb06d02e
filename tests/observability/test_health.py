"""/healthz answers from the process alone; /readyz gives a verdict, details to the token holder."""

from __future__ import annotations

import json
import os

import pytest
from django.conf import settings

from tenants.control import control_alias
from tenants.models import DatabaseServer
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, free_port, http

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


TOKEN = "readiness-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _get(server, path, host, headers=None):
    status, _, body = http("GET", server.url + path, host, headers=headers, timeout=15)
    return status, json.loads(body)


def test_readyz_is_200_with_every_dependency_up(committed_db, test_database_url):
    env = {"REDIS_URL": REDIS_URL, "METRICS_TOKEN": TOKEN}
    with LiveServer(test_database_url, env) as server:
        status, body = _get(server, "/readyz", settings.BASE_DOMAIN, AUTH)
    down = {name: c for name, c in body["checks"].items() if not c["ok"]}
    assert status == 200, down
    assert body["status"] == "ready"
    assert {"database:default", "redis", "broker"} <= set(body["checks"])


@pytest.fixture
def unreachable_server(committed_db):
    row = DatabaseServer.objects.using(control_alias("test")).create(
        name=unique_subdomain("down"), address=f"postgresql://127.0.0.1:{free_port()}/x"
    )
    yield row
    row.delete()


def test_readyz_reports_stopped_redis_and_unreachable_server_while_healthz_stays_up(
    unreachable_server, test_database_url
):
    closed = free_port()
    tenant = TenantFactory(subdomain=unique_subdomain("ready"))
    env = {"REDIS_URL": f"redis://127.0.0.1:{closed}/0", "METRICS_TOKEN": TOKEN}
    with LiveServer(test_database_url, env) as server:
        hosts = [
            settings.BASE_DOMAIN,
            f"{settings.OPERATOR_SUBDOMAIN}.{settings.BASE_DOMAIN}",
            f"{tenant.subdomain}.{settings.BASE_DOMAIN}",
        ]
        for host in hosts:
            # Anyone, even from loopback: the verdict only, no server name, no error. With
            # Redis and the broker down the process still serves (fail-soft cache, outbox):
            # degraded, never 503, which would take every process out of the load balancer
            # (503 "not ready" before the fix, while the page below answered 200).
            assert _get(server, "/readyz", host) == (200, {"status": "degraded"})
            # The platform, with its token: each dependency and why.
            status, body = _get(server, "/readyz", host, AUTH)
            assert status == 200, (host, body)
            checks = body["checks"]
            assert checks["database:default"]["ok"] is True
            assert checks["redis"]["ok"] is False
            assert checks["broker"]["ok"] is False
            assert checks[f"database_server:{unreachable_server.name}"]["ok"] is False
            # Server URLs carry credentials: never echoed.
            assert "postgresql://" not in json.dumps(body)
            assert _get(server, "/healthz", host) == (200, {"status": "ok"})
        status, _, _ = http("GET", f"{server.url}/accounts/login/", hosts[2])
        assert status == 200  # what the verdict is about: the process serves


def test_an_unreachable_tenant_database_server_degrades_but_never_fails_readiness(
    unreachable_server, test_database_url
):
    """One bad extra server must not take every process out of the load balancer."""
    env = {"REDIS_URL": REDIS_URL, "METRICS_TOKEN": TOKEN}
    with LiveServer(test_database_url, env) as server:
        status, body = _get(server, "/readyz", settings.BASE_DOMAIN)
        assert (status, body) == (200, {"status": "degraded"})
        assert unreachable_server.name not in json.dumps(body)
        status, body = _get(server, "/readyz", settings.BASE_DOMAIN, AUTH)
    assert status == 200
    assert body["checks"][f"database_server:{unreachable_server.name}"]["ok"] is False
