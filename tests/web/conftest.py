"""Fixtures for the web UI tests: an organisation with an owner, an admin and a member."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD


def host(tenant) -> str:
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"


def signed_in(tenant, user, **client_kwargs) -> Client:
    client = Client(HTTP_HOST=host(tenant), **client_kwargs)
    response = client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[-900:]
    return client


@pytest.fixture(autouse=True)
def _roomy_ip_throttle(settings):
    # Every test client comes from 127.0.0.1: the per-IP counter (global cache) would add up
    # failures across tests. Tests of the IP limit set their own value and address.
    settings.LOGIN_IP_FAILURE_LIMIT = 10_000


@pytest.fixture
def owner(tenant_a):
    return UserFactory(tenant=tenant_a, email="owner@alpha.test", role=Role.OWNER)


@pytest.fixture
def admin(tenant_a):
    return UserFactory(tenant=tenant_a, email="admin@alpha.test", role=Role.ADMIN)


@pytest.fixture
def member(tenant_a):
    return UserFactory(tenant=tenant_a, email="member@alpha.test", role=Role.MEMBER)
