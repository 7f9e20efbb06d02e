"""Two tenants, in every isolation mode: PostgreSQL keeps them apart whatever the ORM does."""

import uuid

import pytest
from django.db import DatabaseError, connections, transaction

from projects.models import Project, Task
from tenants.context import NoTenantContext, no_tenant, tenant_scope
from tenants.routers import data_alias
from tenants.transactions import tenant_atomic
from tests.conftest import make_tenant
from tests.factories import ProjectFactory, TaskFactory

pytestmark = [pytest.mark.django_db, pytest.mark.isolation]


@pytest.fixture
def tenant_a(db, mode):
    return make_tenant(mode, "alpha", name="Alpha")


@pytest.fixture
def tenant_b(db, mode):
    # B is always in another placement kind than A when A has its own, and in the
    # same one when A is pooled: both neighbours are covered.
    return make_tenant(mode, "beta", name="Beta")


def conn(tenant):
    """The connection holding the tenant's rows (the default one for pooled tenants)."""
    return connections[data_alias(tenant)]


@pytest.fixture
def data(tenant_a, tenant_b):
    a1 = ProjectFactory(tenant=tenant_a, name="a-one")
    a2 = ProjectFactory(tenant=tenant_a, name="a-two")
    b1 = ProjectFactory(tenant=tenant_b, name="b-one")
    TaskFactory(tenant=tenant_a, project=a1, title="a-task")
    TaskFactory(tenant=tenant_b, project=b1, title="b-task")
    return {"a": [a1, a2], "b": [b1]}


def names(qs):
    return sorted(p.name for p in qs)


def test_runs_as_the_app_role_without_bypass(tenant_a):
    with tenant_scope(tenant_a), conn(tenant_a).cursor() as cur:
        cur.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypass = cur.fetchone()
        cur.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user) AND relkind = 'r'"
        )
        owned = cur.fetchone()[0]
    assert user == "saas_app"
    assert (superuser, bypass, owned) == (False, False, 0)


def test_orm_sees_only_own_rows_even_without_app_filter(data, tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        assert names(Project.unscoped.all()) == ["a-one", "a-two"]
        assert names(Project.objects.all()) == ["a-one", "a-two"]
        assert [t.title for t in Task.unscoped.all()] == ["a-task"]
        with pytest.raises(Project.DoesNotExist):
            Project.unscoped.get(pk=data["b"][0].pk)
    with tenant_scope(tenant_b):
        assert names(Project.unscoped.all()) == ["b-one"]


def test_raw_and_cursor_see_only_own_rows(data, tenant_a):
    with tenant_scope(tenant_a):
        raw = list(Project.unscoped.raw("SELECT * FROM projects_project"))
        assert sorted(p.name for p in raw) == ["a-one", "a-two"]
        with conn(tenant_a).cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT tenant_id) FROM projects_project")
            assert cur.fetchone() == (2, 1)


def test_update_and_delete_cannot_touch_other_tenant(data, tenant_a, tenant_b):
    b1 = data["b"][0]
    with tenant_scope(tenant_a):
        assert Project.unscoped.filter(pk=b1.pk).update(name="hacked") == 0
        assert Project.unscoped.all().update(description="mine") == 2
        deleted, _ = Project.unscoped.filter(pk=b1.pk).delete()
        assert deleted == 0
        with conn(tenant_a).cursor() as cur:
            cur.execute("UPDATE projects_project SET name = 'x' WHERE id = %s", [b1.pk])
            assert cur.rowcount == 0
            cur.execute("DELETE FROM projects_project WHERE id = %s", [b1.pk])
            assert cur.rowcount == 0
    with tenant_scope(tenant_b):
        b1.refresh_from_db()
        assert (b1.name, b1.description) == ("b-one", "A project")


def test_write_carrying_other_tenant_id_is_rejected(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        with pytest.raises(DatabaseError, match="row-level security"), tenant_atomic():
            Project.unscoped.create(tenant_id=tenant_b.pk, name="smuggled")
        with pytest.raises(DatabaseError, match="row-level security"), tenant_atomic():
            Project.unscoped.bulk_create(
                [
                    Project(tenant_id=tenant_a.pk, name="ok"),
                    Project(tenant_id=tenant_b.pk, name="x"),
                ]
            )
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            tenant_atomic(),
            conn(tenant_a).cursor() as cur,
        ):
            cur.execute(
                "INSERT INTO projects_project (id, tenant_id, name, description, created_at, "
                "updated_at) VALUES (%s, %s, 'raw', '', now(), now())",
                [uuid.uuid4(), tenant_b.pk],
            )
        own = ProjectFactory(tenant=tenant_a, name="own")
        with pytest.raises(DatabaseError, match="row-level security"), tenant_atomic():
            Project.unscoped.filter(pk=own.pk).update(tenant_id=tenant_b.pk)
        assert Project.unscoped.count() == 1
    with tenant_scope(tenant_b):
        assert Project.unscoped.count() == 0


def test_bulk_create_in_own_tenant_works(tenant_a):
    with tenant_scope(tenant_a):
        Project.objects.bulk_create([Project(name=f"p{i}") for i in range(5)])
        assert Project.objects.count() == 5
        assert set(Project.objects.values_list("tenant_id", flat=True)) == {tenant_a.pk}


def test_no_context_means_zero_rows_and_rejected_writes(data, tenant_a):
    with no_tenant():
        assert Project.unscoped.count() == 0
        assert Task.unscoped.count() == 0
        with pytest.raises(NoTenantContext):
            Project.objects.count()
        for alias in {"default", data_alias(tenant_a)}:
            with connections[alias].cursor() as cur:
                cur.execute("SELECT count(*) FROM projects_project")
                assert cur.fetchone()[0] == 0
        with pytest.raises(DatabaseError), tenant_atomic():
            Project.unscoped.create(tenant_id=tenant_a.pk, name="orphan")
        with pytest.raises(DatabaseError), tenant_atomic():
            Project.unscoped.create(name="no tenant at all")


@pytest.mark.parametrize(
    "value", ["", "garbage", "' OR 1=1 --", "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e77", "NULL"]
)
def test_empty_or_garbage_setting_matches_nothing(data, tenant_a, value):
    alias = data_alias(tenant_a)
    with no_tenant(), transaction.atomic(using=alias), connections[alias].cursor() as cur:
        if tenant_a.isolation == "schema":
            cur.execute(f'SET LOCAL search_path TO "{tenant_a.schema_name}"')
        cur.execute("SELECT set_config('app.current_tenant', %s, true)", [value])
        cur.execute("SELECT count(*) FROM projects_project")
        assert cur.fetchone()[0] == 0
        with pytest.raises(DatabaseError), transaction.atomic(using=alias):
            cur.execute(
                "INSERT INTO projects_project (id, tenant_id, name, description, created_at, "
                "updated_at) VALUES (%s, %s, 'x', '', now(), now())",
                [uuid.uuid4(), tenant_a.pk],
            )


def test_task_cannot_point_at_other_tenants_project(data, tenant_a):
    b1 = data["b"][0]
    with tenant_scope(tenant_a):
        with pytest.raises(DatabaseError), tenant_atomic():
            with conn(tenant_a).cursor() as cur:
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            Task.unscoped.create(tenant_id=tenant_a.pk, project_id=b1.pk, title="sneaky")
        assert Task.unscoped.filter(title="sneaky").count() == 0


def test_switching_scope_inside_one_transaction(data, tenant_a, tenant_b):
    with tenant_atomic():
        with tenant_scope(tenant_a):
            assert Project.unscoped.count() == 2
            with tenant_scope(tenant_b):
                assert names(Project.unscoped.all()) == ["b-one"]
            assert Project.unscoped.count() == 2
        with no_tenant():
            assert Project.unscoped.count() == 0


def test_savepoint_rollback_does_not_leave_wrong_tenant(data, tenant_a, tenant_b):
    with tenant_scope(tenant_a), tenant_atomic():
        assert Project.unscoped.count() == 2
        with tenant_scope(tenant_b):
            try:
                with tenant_atomic():
                    assert Project.unscoped.count() == 1  # sends SET LOCAL b in the savepoint
                    raise RuntimeError
            except RuntimeError:
                pass
            # The savepoint rollback restored tenant A in the database: B must be re-sent.
            assert names(Project.unscoped.all()) == ["b-one"]
        assert names(Project.unscoped.all()) == ["a-one", "a-two"]


def test_switching_from_a_schema_tenant_to_a_pooled_one_inside_a_transaction(db):
    """The pooled tenant's rows must land in the pooled tables, not the schema tenant's."""
    from django.db import connection

    schema_tenant = make_tenant("schema", "sw-schema")
    pooled_tenant = make_tenant("shared", "sw-pooled")
    with transaction.atomic():
        with tenant_scope(schema_tenant):
            ProjectFactory(tenant=schema_tenant, name="in-schema")
        with tenant_scope(pooled_tenant):
            ProjectFactory(tenant=pooled_tenant, name="in-pool")
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT current_setting('search_path'), "
                    "(SELECT count(*) FROM public.projects_project), "
                    f'(SELECT count(*) FROM "{schema_tenant.schema_name}".projects_project)'
                )
                search_path, in_pool, misplaced = cur.fetchone()
    assert "t_" not in search_path
    assert (in_pool, misplaced) == (1, 0)
    with tenant_scope(pooled_tenant):
        assert list(Project.objects.values_list("name", flat=True)) == ["in-pool"]
    with tenant_scope(schema_tenant):
        assert list(Project.objects.values_list("name", flat=True)) == ["in-schema"]
