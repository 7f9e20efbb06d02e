"""One pooled server connection serves tenant after tenant: the context is transaction-local."""

import uuid

import pytest
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from projects.models import Project
from tenants.context import no_tenant, tenant_scope
from tenants.database_config import pool_options
from tenants.db import register_alias
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory

pytestmark = [pytest.mark.isolation]


@pytest.fixture
def two_tenants(committed_db):
    a = TenantFactory(subdomain=unique_subdomain("pool-a"))
    b = TenantFactory(subdomain=unique_subdomain("pool-b"))
    ProjectFactory(tenant=a, name="a-secret")
    ProjectFactory(tenant=b, name="b-secret")
    return a, b


@pytest.fixture
def one_connection(committed_db):
    """The app role's settings with a pool of exactly one connection: every checkout reuses it."""
    alias = f"pool1_{uuid.uuid4().hex[:8]}"
    config = dict(settings.DATABASES["default"])
    config["OPTIONS"] = dict(
        config["OPTIONS"], pool=pool_options(min_size=1, max_size=1, timeout=5, max_idle=60)
    )
    register_alias(alias, config)
    yield alias
    connections[alias].close()
    connections[alias].close_pool()
    del connections[alias]
    connections.settings.pop(alias, None)


def state(alias):
    """(backend pid, app.current_tenant, projects visible) on a freshly checked-out connection."""
    with connections[alias].cursor() as cur:
        cur.execute(
            "SELECT pg_backend_pid(), coalesce(current_setting('app.current_tenant', true), ''), "
            "(SELECT count(*) FROM projects_project)"
        )
        return cur.fetchone()


def names(alias):
    return list(Project.unscoped.using(alias).values_list("name", flat=True))


def release(alias):
    connections[alias].close()  # with a pool: back to the pool, not closed


def test_one_pooled_connection_serves_tenant_a_then_b_and_keeps_nothing(
    two_tenants, one_connection
):
    a, b = two_tenants
    alias = one_connection
    with tenant_scope(a), transaction.atomic(using=alias):
        assert names(alias) == ["a-secret"]
        pid_a, setting_a, _ = state(alias)
    release(alias)
    with tenant_scope(b), transaction.atomic(using=alias):
        assert names(alias) == ["b-secret"]
        pid_b, setting_b, _ = state(alias)
    release(alias)
    with tenant_scope(a):  # autocommit statements too
        assert names(alias) == ["a-secret"]
    release(alias)
    with no_tenant():
        pid_none, setting, visible = state(alias)
    release(alias)
    assert pid_a == pid_b == pid_none, "the same server connection served every checkout"
    assert (setting_a, setting_b) == (str(a.pk), str(b.pk))
    assert (setting, visible) == ("", 0), "a returned connection carries no tenant"


@pytest.mark.parametrize("how", ["failed", "open"])
def test_a_connection_returned_mid_transaction_does_not_carry_the_tenant(
    two_tenants, one_connection, how
):
    """Returned to the pool inside tenant A's transaction (failed or still open), without
    Django's rollback: the pool rolls it back, and the next checkout sees no trace of A."""
    a, b = two_tenants
    alias = one_connection
    wrapper = connections[alias]
    with tenant_scope(a):
        try:
            with transaction.atomic(using=alias):
                pid_a, setting, visible = state(alias)
                assert (setting, visible) == (str(a.pk), 1)
                if how == "failed":
                    with pytest.raises(DatabaseError), wrapper.cursor() as cur:
                        cur.execute("SELECT 1 / 0")
                    status = wrapper.connection.info.transaction_status.name
                    assert status == "INERROR"
                release(alias)  # mid-transaction: the pool, not Django, ends it
        except DatabaseError:
            pass  # leaving an atomic block whose connection was closed
    wrapper.close()
    with no_tenant():
        pid, setting, visible = state(alias)
    release(alias)
    assert pid == pid_a, "the same pooled connection, reused"
    assert (setting, visible) == ("", 0)
    with tenant_scope(b), transaction.atomic(using=alias):
        assert names(alias) == ["b-secret"]
        assert state(alias)[0] == pid_a
    release(alias)
