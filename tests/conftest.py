"""Test wiring: one database per xdist worker, migrated as the owner, used as the app role."""

from __future__ import annotations

import hashlib
import os
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from saas.db import admin_conninfo
from tenants import roles
from tests.factories import ProjectFactory, TenantFactory, UserFactory  # noqa: F401


def _test_db_name() -> str:
    # One database per checkout and xdist worker: parallel checkouts (CI, a
    # second work tree) on one server never share or drop each other's.
    base = settings.DATABASES["owner"]["NAME"]
    checkout = hashlib.sha1(str(settings.BASE_DIR).encode()).hexdigest()[:6]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"test_{base}_{checkout}_{worker}"


def _drop_database(name: str) -> None:
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    name = _test_db_name()
    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
        roles.ensure_roles(settings.DATABASE_URL)
        _drop_database(name)
        for alias in ("default", "owner", "operator"):
            settings.DATABASES[alias]["NAME"] = name
            connections[alias].settings_dict["NAME"] = name
        call_command("migrate", database="owner", verbosity=0, interactive=False)
    yield name
    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
        _drop_database(name)


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access without the per-test transaction: writes really commit.

    For tests about connections, transactions and other processes. Such tests
    create uniquely named tenants, so they need no flush.
    """
    with django_db_blocker.unblock():
        yield
        for conn in connections.all():
            conn.close()


@pytest.fixture
def test_database_url(django_db_setup) -> str:
    """DATABASE_URL pointing at this worker's test database (for subprocesses)."""
    base, _, _ = settings.DATABASE_URL.rpartition("/")
    return f"{base}/{django_db_setup}"


def unique_subdomain(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def tenant_a(db):
    return TenantFactory(name="Alpha", subdomain=unique_subdomain("alpha"))


@pytest.fixture
def tenant_b(db):
    return TenantFactory(name="Beta", subdomain=unique_subdomain("beta"))
