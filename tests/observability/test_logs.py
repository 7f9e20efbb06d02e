"""JSON log lines of a live server carry the tenant, the request id, the route and the timing."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from accounts.models import Role
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.jobs.conftest import REDIS_URL, Worker
from tests.live import LiveServer, http
from tests.observability.live_helpers import Client, json_lines, wait_for_line

pytestmark = pytest.mark.slow


def test_access_lines_carry_tenant_request_id_route_status_and_duration(
    committed_db, test_database_url
):
    tenant = TenantFactory(subdomain=unique_subdomain("logs"))
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    with LiveServer(test_database_url) as server:
        status, headers, _ = http(
            "GET", server.url + "/accounts/login/", host, headers={"X-Request-ID": "abc-123.x"}
        )
        assert status == 200
        assert headers["X-Request-ID"] == "abc-123.x"
        # Malformed or oversized ids are replaced, never echoed or logged.
        for bad in ["a" * 200, "<script>", "id with spaces"]:
            _, headers, _ = http(
                "GET", server.url + "/accounts/login/", host, headers={"X-Request-ID": bad}
            )
            assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])
        # A refusal from the tenant middleware (unknown organisation) carries one too.
        status, headers, _ = http(
            "GET", server.url + "/", f"nobody-{tenant.subdomain}.{settings.BASE_DOMAIN}"
        )
        assert status == 404 and headers["X-Request-ID"]
        line = wait_for_line(
            server.log,
            lambda e: (
                e.get("logger") == "observability.access" and e.get("request_id") == "abc-123.x"
            ),
        )
    assert line["tenant"] == tenant.subdomain
    assert line["tenant_id"] == str(tenant.pk)
    assert line["route"] == "/accounts/login/"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert 0 < line["duration_ms"] < 10_000
    logged = {e.get("request_id") for e in json_lines(server.log)}
    assert not any(bad in logged for bad in ["<script>", "id with spaces"])


def test_a_task_queued_by_a_request_logs_the_same_request_id(
    committed_db, test_database_url, redis_broker
):
    tenant = TenantFactory(subdomain=unique_subdomain("logtask"))
    owner = UserFactory(tenant=tenant, role=Role.OWNER)
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    with (
        Worker(test_database_url) as worker,
        LiveServer(test_database_url, {"REDIS_URL": REDIS_URL}) as server,
    ):
        client = Client(server.port, host)
        token = client.csrf_form_token("/accounts/login/")
        status, _, _ = client.request(
            "POST",
            "/accounts/login/",
            {"email": owner.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert status == 302, status
        token = client.csrf_form_token("/members/")
        status, headers, _ = client.request(
            "POST",
            "/members/",
            {"email": "new@example.com", "role": "member", "csrfmiddlewaretoken": token},
            headers={"X-Request-ID": "invite-req-42"},
        )
        assert status == 302, status
        assert headers["X-Request-ID"] == "invite-req-42"
        done = wait_for_line(
            worker.log,
            lambda e: (
                e.get("logger") == "observability.tasks"
                and e.get("task") == "accounts.send_invitation_email"
                and e.get("state") == "SUCCESS"
            ),
        )
    assert done["request_id"] == "invite-req-42"
    # Logged around the task body (outside its scope): the tenant it was queued for, by id.
    assert done["tenant_id"] == str(tenant.pk)
