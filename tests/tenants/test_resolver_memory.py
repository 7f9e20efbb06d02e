"""The resolver's per-process cache is bounded: random subdomains cannot grow it."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from tenants import resolvers


@pytest.mark.django_db
def test_random_subdomains_keep_the_cache_bounded(settings, tenant_a):
    settings.TENANT_RESOLVER_L1_SIZE = 100
    resolvers.clear_local()
    client = Client()
    for _ in range(3000):
        host = f"x{uuid.uuid4().hex[:12]}.{settings.BASE_DOMAIN}"
        assert client.get("/", HTTP_HOST=host).status_code == 404
    assert resolvers.local_size() <= 100
    # A real tenant is still served (and cached) among them.
    host = f"{tenant_a.subdomain}.{settings.BASE_DOMAIN}"
    assert client.get("/accounts/login/", HTTP_HOST=host).status_code == 200
    assert resolvers.local_size() <= 100
    resolvers.clear_local()
