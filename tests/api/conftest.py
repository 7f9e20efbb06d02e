"""API test helpers: a token for a tenant and a client that talks to that tenant's host."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import token_create
from tenants.context import tenant_scope
from tests.factories import UserFactory


def host_of(tenant) -> str:
    return f"{tenant.subdomain}.localhost"


def mint(tenant, scopes=("admin",), **kwargs) -> str:
    with tenant_scope(tenant):
        return token_create(tenant=tenant, name="test", scopes=list(scopes), **kwargs).secret


class ApiTestClient(APIClient):
    """An APIClient bound to a host and (optionally) a bearer token."""

    def __init__(self, host: str, token: str | None = None):
        super().__init__(HTTP_HOST=host)
        if token:
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")


def api_error(response, status, code) -> dict:
    """Assert the API's one error envelope with `status` and `code`; return the error."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


@pytest.fixture
def api(tenant_a):
    """An admin-scoped client on tenant A's host."""
    return ApiTestClient(host_of(tenant_a), mint(tenant_a, ["admin"]))


@pytest.fixture
def api_for():
    def make(tenant, scopes=("admin",), host_tenant=None, **kwargs) -> ApiTestClient:
        return ApiTestClient(host_of(host_tenant or tenant), mint(tenant, scopes, **kwargs))

    return make


@pytest.fixture
def admin_a(tenant_a):
    return UserFactory(tenant=tenant_a, role=Role.OWNER, email="owner@alpha.test")
