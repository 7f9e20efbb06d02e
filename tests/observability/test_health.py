"""/healthz answers from the process alone; /readyz names each dependency that is down."""

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


def _get(server, path, host):
    status, _, body = http("GET", server.url + path, host, timeout=15)
    return status, json.loads(body)


def test_readyz_is_200_with_every_dependency_up(committed_db, test_database_url):
    with LiveServer(test_database_url, {"REDIS_URL": REDIS_URL}) as server:
        status, body = _get(server, "/readyz", settings.BASE_DOMAIN)
    down = {name: c for name, c in body["checks"].items() if not c["ok"]}
    assert status == 200, down
    assert body["status"] == "ready"
    assert {"database:default", "redis", "broker"} <= set(body["checks"])


def test_readyz_reports_stopped_redis_and_unreachable_server_while_healthz_stays_up(
    committed_db, test_database_url
):
    closed = free_port()
    server_row = DatabaseServer.objects.using(control_alias("test")).create(
        name=unique_subdomain("down"), address=f"postgresql://127.0.0.1:{free_port()}/x"
    )
    tenant = TenantFactory(subdomain=unique_subdomain("ready"))
    try:
        env = {"REDIS_URL": f"redis://127.0.0.1:{closed}/0"}
        with LiveServer(test_database_url, env) as server:
            hosts = [
                settings.BASE_DOMAIN,
                f"{settings.OPERATOR_SUBDOMAIN}.{settings.BASE_DOMAIN}",
                f"{tenant.subdomain}.{settings.BASE_DOMAIN}",
            ]
            for host in hosts:
                status, body = _get(server, "/readyz", host)
                assert status == 503, (host, body)
                checks = body["checks"]
                assert checks["database:default"]["ok"] is True
                assert checks["redis"]["ok"] is False
                assert checks["broker"]["ok"] is False
                assert checks[f"database_server:{server_row.name}"]["ok"] is False
                # Server URLs carry credentials: never echoed.
                assert "postgresql://" not in json.dumps(body)
                assert _get(server, "/healthz", host) == (200, {"status": "ok"})
    finally:
        server_row.delete()
