"""Hostile input gets a clear 4xx in the right shape, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import ApiTestClient, host_of, mint


@pytest.mark.django_db
def test_deeply_nested_json_is_a_400(tenant_a):
    client = ApiTestClient(host_of(tenant_a), mint(tenant_a, ["write"]))
    body = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post("/api/v1/projects/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_nul_bytes_in_queries_and_forms_are_a_400(tenant_a):
    host = host_of(tenant_a)
    assert Client(HTTP_HOST=host).get("/projects/?q=%00").status_code == 400
    response = Client(HTTP_HOST=host).post(
        "/accounts/login/",
        "email=a%00%40b.c&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    api = ApiTestClient(host, mint(tenant_a, ["read"]))
    response = api.get("/api/v1/projects/?search=%00")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"
