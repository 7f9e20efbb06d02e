"""The tenant_isolation policies read the tenant through public.saas_current_tenant().

One STABLE function call instead of a scalar sub-select per policy: the planner folds it
into the explicit tenant filter as a one-time check (no InitPlan per table). Same rows,
same refusals: NULL unless app.current_tenant is a well-formed uuid.
"""

import pytest
from django.db import connections, transaction

from projects.models import Project
from tenants.checks import check_tenant_tables
from tenants.context import tenant_scope
from tenants.rls.sql import CURRENT_TENANT, CURRENT_TENANT_FUNCTION_SQL
from tenants.routers import data_alias
from tests.conftest import make_tenant
from tests.factories import ProjectFactory

pytestmark = pytest.mark.isolation


def _policies(alias: str, schema: str) -> set[str]:
    with connections[alias].cursor() as cur:
        cur.execute(
            "SELECT DISTINCT pg_get_expr(p.polqual, p.polrelid) || ' / ' "
            "|| pg_get_expr(p.polwithcheck, p.polrelid) FROM pg_policy p "
            "JOIN pg_class c ON c.oid = p.polrelid "
            "WHERE p.polname = 'tenant_isolation' AND c.relnamespace = %s::regnamespace",
            [schema],
        )
        return {row[0] for row in cur.fetchall()}


def test_every_policy_of_every_placement_reads_the_function(committed_db, mode):
    tenant = make_tenant(mode, "ctf")
    alias = data_alias(tenant)
    schema = tenant.schema_name if mode == "schema" else "public"
    found = _policies(alias, schema)
    assert len(found) == 1, found
    (expr,) = found
    assert expr.count("saas_current_tenant()") == 2 and "SELECT" not in expr, expr
    assert check_tenant_tables() == []


@pytest.mark.parametrize(
    "setting", [None, "", "not-a-uuid", "7F0C2B6E-3E0A-4C55-9C8B-0A7C1C4C2F11' OR 1=1 --"]
)
def test_no_well_formed_tenant_means_null_zero_rows_and_refused_writes(tenant_a, setting):
    ProjectFactory(tenant=tenant_a, name="kept")
    with transaction.atomic(), connections["default"].cursor() as cur:
        if setting is not None:
            cur.execute("SELECT set_config('app.current_tenant', %s, true)", [setting])
        cur.execute("SELECT public.saas_current_tenant(), count(*) FROM projects_project")
        assert cur.fetchone() == (None, 0)
        cur.execute("SAVEPOINT w")
        with pytest.raises(Exception, match="row-level security"):
            cur.execute(
                "INSERT INTO projects_project (id, tenant_id, name, description, created_at, "
                "updated_at) VALUES (gen_random_uuid(), %s, 'x', '', now(), now())",
                [str(tenant_a.pk)],
            )
        cur.execute("ROLLBACK TO SAVEPOINT w")


def test_a_filtered_query_plans_no_sub_plan_for_the_policy(tenant_a):
    ProjectFactory(tenant=tenant_a)
    with tenant_scope(tenant_a), transaction.atomic():
        sql, params = Project.objects.all().query.sql_with_params()
        with connections["default"].cursor() as cur:
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cur.fetchall())
    assert "InitPlan" not in plan and "SubPlan" not in plan, plan
    assert "saas_current_tenant()" in plan, plan


def test_a_function_with_another_body_is_not_the_policy(committed_db):
    owner = connections["owner"]
    with owner.cursor() as cur:
        cur.execute(
            "SELECT proconfig FROM pg_proc WHERE oid = 'public.saas_current_tenant()'::regprocedure"
        )
        # Its own search_path: one plan, never re-planned when a schema tenant's path is set.
        assert cur.fetchone() == (["search_path=pg_catalog"],)
        cur.execute(
            "CREATE OR REPLACE FUNCTION public.saas_current_tenant() RETURNS uuid "
            "LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN NULL; END $$"
        )
    try:
        found = {e.id for e in check_tenant_tables()}
        assert "tenants.E003" in found
    finally:
        with owner.cursor() as cur:
            cur.execute(CURRENT_TENANT_FUNCTION_SQL)
    assert check_tenant_tables() == []


def test_parallel_workers_see_the_transactions_tenant(tenant_a, tenant_b):
    """The function is PARALLEL SAFE: workers evaluate it with the leader's settings."""
    for i in range(3):
        ProjectFactory(tenant=tenant_a, name=f"a{i}")
    ProjectFactory(tenant=tenant_b, name="b")
    with tenant_scope(tenant_a), transaction.atomic(), connections["default"].cursor() as cur:
        cur.execute("SHOW max_parallel_workers_per_gather")
        assert cur.fetchone()[0] == "0"  # the app role's default (tenants.roles): no fan-out
        for setting in (
            "max_parallel_workers_per_gather = 2",
            "force_parallel_mode = regress",
            "parallel_setup_cost = 0",
            "parallel_tuple_cost = 0",
            "min_parallel_table_scan_size = 0",
            "enable_indexscan = off",
            "enable_indexonlyscan = off",
            "enable_bitmapscan = off",
        ):
            cur.execute("SET LOCAL " + setting)
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM projects_project")
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute("SELECT array_agg(name ORDER BY name) FROM projects_project")
        names = cur.fetchone()[0]
    assert "Workers Launched: " in plan and "Workers Launched: 0" not in plan, plan
    assert names == ["a0", "a1", "a2"]


# The regex the function's first body used (tenants.rls.sql.CURRENT_TENANT): the
# LIKE/translate form must accept exactly what it accepted.
EDGE_SETTINGS = [
    "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e77",
    "00000000-0000-0000-0000-000000000000",
    "6F1C1E0A-8D54-4C1E-9A53-0C3B1F2A9E77",
    "{6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e77}",
    "6f1c1e0a8d544c1e9a530c3b1f2a9e77",
    "6f1c1e0a8d544c1e9a530c3b1f2a9e77abcd",
    "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e7",
    "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e770",
    "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e7-",
    "-6f1c1e0-8d54-4c1e-9a53-0c3b1f2a9e77",
    "6f1c1e0a--d54-4c1e-9a53-0c3b1f2a9e77",
    "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e7\u00e9",
    "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e7g",
    "6f1c1e0a_8d54_4c1e_9a53_0c3b1f2a9e77",
    "6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e77\n",
    " 6f1c1e0a-8d54-4c1e-9a53-0c3b1f2a9e7",
    "%%%%%%%%-%%%%-%%%%-%%%%-%%%%%%%%%%%%",
    "",
    "NULL",
    None,
]


@pytest.mark.parametrize("setting", EDGE_SETTINGS)
def test_the_function_accepts_exactly_the_canonical_uuids_the_regex_did(db, setting):
    with transaction.atomic(), connections["default"].cursor() as cur:
        cur.execute("SELECT set_config('app.current_tenant', %s, true)", [setting])
        cur.execute(f"SELECT public.saas_current_tenant()::text, ({CURRENT_TENANT})::text")
        got, regex = cur.fetchone()
    assert got == regex
    assert (got is not None) == (setting in EDGE_SETTINGS[:2])
