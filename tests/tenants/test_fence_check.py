"""saas_enter_tenant() looks up the fence only when the fence table's file is not empty.

The skip must never let a fenced placement through: a fence is refused in every mode,
whether the table was empty before it (a tenant database's), holds other tenants'
fences, or only rows already deleted.
"""

import pytest
from django.db import DatabaseError

from projects.models import Project
from tenants import fence
from tenants.backends import backend_for
from tenants.context import tenant_scope
from tenants.transactions import tenant_atomic
from tests.conftest import make_tenant
from tests.factories import ProjectFactory

pytestmark = pytest.mark.isolation


def _file_size(placement) -> int:
    with fence.connect(placement) as conn:
        return conn.execute("SELECT pg_relation_size('public.tenants_fence')").fetchone()[0]


def _refused(tenant) -> bool:
    try:
        with tenant_scope(tenant):
            assert Project.objects.count() == 1
    except DatabaseError as exc:
        assert fence.is_fence_error(exc), exc
        return True
    return False


def test_a_fence_is_refused_whatever_the_fence_table_held_before(committed_db, mode):
    tenant, neighbour = make_tenant(mode, "fchk"), make_tenant(mode, "fchn")
    for t in (tenant, neighbour):
        with tenant_scope(t):
            ProjectFactory(tenant=t)
    placement = backend_for(tenant).placement(tenant)
    if mode == "database":
        assert _file_size(placement) == 0  # a new tenant database: the look-up is skipped
    assert not _refused(tenant)

    fence.fence(placement, tenant.pk, "test: fenced")
    try:
        assert _file_size(placement) > 0
        assert _refused(tenant)
        if mode != "database":  # another tenant's fence in the same table
            assert not _refused(neighbour)
    finally:
        fence.lift(placement, tenant.pk)
    assert not _refused(tenant)  # only a deleted row left: looked up, nothing found

    fence.fence(placement, tenant.pk, "test: fenced again")
    try:
        assert _refused(tenant)
    finally:
        fence.lift(placement, tenant.pk)
    assert not _refused(tenant)


def test_a_table_vacuumed_empty_still_refuses_the_next_fence(committed_db, mode):
    """VACUUM truncates a fence table whose rows were all deleted back to an empty file:
    the look-up is skipped again, and the next fence, written after, is still refused."""
    tenant = make_tenant(mode, "fvac")
    with tenant_scope(tenant):
        ProjectFactory(tenant=tenant)
    placement = backend_for(tenant).placement(tenant)
    fence.fence(placement, tenant.pk, "test: fenced")
    fence.lift(placement, tenant.pk)
    with placement.connect(autocommit=True) as owner:  # the fence table's owner
        owner.execute("VACUUM public.tenants_fence")
    if mode == "database":  # the tenant database's table held only this tenant's row
        assert _file_size(placement) == 0
    assert not _refused(tenant)
    fence.fence(placement, tenant.pk, "test: fenced after the vacuum")
    try:
        assert _refused(tenant)
    finally:
        fence.lift(placement, tenant.pk)


def test_a_transaction_that_skipped_the_look_up_is_waited_for_by_a_fence(committed_db, mode):
    """The shared lock is taken before the size check: a fence written while such a
    transaction runs waits for it (here: gives up after a second, and lifts itself)."""
    tenant = make_tenant(mode, "fwait")
    with tenant_scope(tenant):
        ProjectFactory(tenant=tenant)
    placement = backend_for(tenant).placement(tenant)
    with tenant_scope(tenant), tenant_atomic():
        assert Project.objects.count() == 1  # entered: the tenant's shared lock is held
        with pytest.raises(fence.FenceTimeout):
            fence.fence(placement, tenant.pk, "test: must wait", wait_seconds=1)
    assert fence.fences(placement, tenant.pk) == []
    assert not _refused(tenant)
