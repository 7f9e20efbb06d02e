"""The access line names the actor without a query: the API token, or the signed-in user."""

from __future__ import annotations

import logging

import pytest

from accounts.models import ApiToken, Role
from benchmarks.sla import recording_us
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def _access(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "observability.access"]


def test_api_request_logs_its_token_and_route_template(tenant_a, caplog):
    UserFactory(tenant=tenant_a, role=Role.OWNER)
    secret = mint(tenant_a)
    with caplog.at_level(logging.INFO, logger="observability.access"):
        response = ApiTestClient(host_of(tenant_a), secret).get("/api/v1/projects/")
    assert response.status_code == 200
    (line,) = _access(caplog)
    with tenant_scope(tenant_a):
        token = ApiToken.objects.get(tenant_id=tenant_a.pk)
    assert line.token_id == str(token.pk)
    assert line.tenant_id == str(tenant_a.pk) and line.tenant == tenant_a.subdomain
    assert line.route == "/api/v1/projects/"
    assert line.request_id == response["X-Request-ID"]


def test_page_request_logs_the_user(tenant_a, client, caplog):
    user = UserFactory(tenant=tenant_a, role=Role.MEMBER)
    client.defaults["HTTP_HOST"] = host_of(tenant_a)
    assert (
        client.post("/accounts/login/", {"email": user.email, "password": PASSWORD}).status_code
        == 302
    )
    with caplog.at_level(logging.INFO, logger="observability.access"):
        assert client.get("/projects/").status_code == 200
    line = _access(caplog)[-1]
    assert line.user_id == str(user.pk) and line.route == "/projects/"


def test_anonymous_request_names_no_actor(tenant_a, client, caplog):
    client.defaults["HTTP_HOST"] = host_of(tenant_a)
    with caplog.at_level(logging.INFO, logger="observability.access"):
        client.get("/accounts/login/")
    line = _access(caplog)[-1]
    assert line.route == "/accounts/login/"
    assert not hasattr(line, "user_id") and not hasattr(line, "token_id")


def test_bench_stage_reports_the_recording_cost():
    figures = recording_us(calls=2000, rounds=1, tenants=50)
    assert 0 < figures["sla_recording_us"] < 1000


def test_readyz_details_are_for_the_token_and_metrics_for_internal_clients(
    tenant_a, client, settings
):
    settings.METRICS_TOKEN = ""
    host = host_of(tenant_a)
    # A client address proves nothing behind a proxy: no details for any address.
    for address in ("8.8.8.8", "10.0.0.5", "127.0.0.1"):
        answer = client.get("/readyz", HTTP_HOST=host, REMOTE_ADDR=address)
        assert set(answer.json()) == {"status"}
    settings.METRICS_TOKEN = "s3cret"
    assert set(client.get("/readyz", HTTP_HOST=host, REMOTE_ADDR="10.0.0.5").json()) == {"status"}
    given = client.get("/readyz", HTTP_HOST=host, HTTP_AUTHORIZATION="Bearer s3cret")
    assert "database:default" in given.json()["checks"]
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_HOST="localhost", REMOTE_ADDR="8.8.8.8").status_code == 404
    assert client.get("/metrics", HTTP_HOST="localhost", REMOTE_ADDR="10.0.0.5").status_code == 200
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics", HTTP_HOST="localhost", REMOTE_ADDR="10.0.0.5").status_code == 404
    scraped = client.get(
        "/metrics",
        HTTP_HOST="localhost",
        HTTP_AUTHORIZATION="Bearer s3cret",
        REMOTE_ADDR="8.8.8.8",
    )
    assert scraped.status_code == 200
