"""The scoped managers filter on the policy's own expression, one condition not two.

`Project.objects` filters on the tenant explicitly (fail closed, readable SQL) on top of
the policy. With the literal id beside the policy's `saas_current_tenant()` the planner
kept both and gated every scan on a one-time check; with the same call on both sides it
is one index condition. Where the call would not mean the queryset's tenant (another
tenant in context, a stock connection) the literal id is sent, as before.
"""

import pytest
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper as StockWrapper

from projects.models import Project, Task
from tenants.context import tenant_scope
from tenants.managers import scoped_tenant_id
from tenants.routers import data_alias
from tests.conftest import make_tenant
from tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.isolation


def _sent_and_plan(qs, alias):
    sql, params = qs.query.get_compiler(alias).as_sql()
    with connections[alias].cursor() as cur:
        cur.execute("EXPLAIN " + sql, params)
        return sql % tuple(repr(str(p)) for p in params), "\n".join(r[0] for r in cur.fetchall())


def test_the_filter_and_the_policy_plan_as_one_condition_in_every_mode(committed_db, mode):
    tenant, other = make_tenant(mode, "sfa"), make_tenant(mode, "sfb")
    for t in (tenant, other):
        with tenant_scope(t):
            ProjectFactory(tenant=t, name=f"of {t.subdomain}")
    alias = data_alias(tenant)
    with tenant_scope(tenant):
        sent, plan = _sent_and_plan(Project.objects.filter(name__startswith="of "), alias)
        names = list(Project.objects.values_list("name", flat=True))
        count = Project.objects.count()
    assert "saas_current_tenant()" in sent and str(tenant.pk) not in sent, sent
    assert "One-Time Filter" not in plan, plan
    assert names == [f"of {tenant.subdomain}"] and count == 1


def test_a_join_sends_the_literal_so_every_joined_table_gets_the_constant(tenant_a, tenant_b):
    for t in (tenant_a, tenant_b):
        with tenant_scope(t):
            TaskFactory(tenant=t, title=f"of {t.subdomain}")
    with tenant_scope(tenant_a):
        qs = Task.objects.select_related("project").filter(project__name__startswith="Project")
        sent, plan = _sent_and_plan(qs, "default")
        titles = [(t.title, t.project.tenant_id) for t in qs]
    assert str(tenant_a.pk) in sent and "saas_current_tenant()" not in sent, sent
    # Each table's condition has the constant; the call is left to one check.
    scans = [ln for ln in plan.splitlines() if "Cond:" in ln or "Filter:" in ln]
    assert all("saas_current_tenant()" not in ln for ln in scans if "One-Time" not in ln), plan
    assert titles == [(f"of {tenant_a.subdomain}", tenant_a.pk)]


def test_a_queryset_evaluated_under_another_tenant_still_finds_nothing(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        ProjectFactory(tenant=tenant_a, name="a's")
        built_for_a = Project.objects.all()
    with tenant_scope(tenant_b):
        ProjectFactory(tenant=tenant_b, name="b's")
        sent, _ = _sent_and_plan(built_for_a, "default")
        assert str(tenant_a.pk) in sent and "saas_current_tenant()" not in sent, sent
        assert list(built_for_a) == []
        assert [p.name for p in Project.objects.all()] == ["b's"]


def test_a_stock_connection_gets_the_literal_id(tenant_a):
    # The tenancy-off baseline of the bench runs the same managers on Django's backend.
    stock = StockWrapper(dict(connections["default"].settings_dict), alias="stock")
    with tenant_scope(tenant_a):
        sql, params = Project.objects.all().query.get_compiler(connection=stock).as_sql()
    assert "saas_current_tenant" not in sql and tenant_a.pk in params, (sql, params)


def test_the_managers_condition_is_the_one_filter_would_build(tenant_a):
    # The manager adds its condition to a fresh query directly (no clone, no lookup
    # resolution): the SQL must be exactly what `.filter(tenant_id=…)` gives.
    stock = StockWrapper(dict(connections["default"].settings_dict), alias="stock")
    with tenant_scope(tenant_a):
        for qs, by_filter in (
            (
                Project.objects.all(),
                Project.unscoped.filter(tenant_id=scoped_tenant_id(tenant_a.pk)),
            ),
            (
                Task.objects.filter(project__name="x").order_by("-created_at"),
                Task.unscoped.filter(tenant_id=scoped_tenant_id(tenant_a.pk))
                .filter(project__name="x")
                .order_by("-created_at"),
            ),
        ):
            for conn in (connections["default"], stock):
                assert qs.query.get_compiler(connection=conn).as_sql() == (
                    by_filter.query.get_compiler(connection=conn).as_sql()
                )


def test_scoped_querysets_combine_nest_and_negate_within_the_tenant(tenant_a, tenant_b):
    for t in (tenant_a, tenant_b):
        with tenant_scope(t):
            project = ProjectFactory(tenant=t, name=f"p {t.subdomain}")
            ProjectFactory(tenant=t, name=f"q {t.subdomain}")
            TaskFactory(tenant=t, project=project, title=f"t {t.subdomain}")
    sub = tenant_a.subdomain
    with tenant_scope(tenant_a):
        p_only = Project.objects.filter(name__startswith="p ")
        either = p_only | Project.objects.filter(name__startswith="q ")
        assert sorted(either.values_list("name", flat=True)) == [f"p {sub}", f"q {sub}"]
        assert list(
            Project.objects.exclude(name__startswith="p ").values_list("name", flat=True)
        ) == [f"q {sub}"]
        nested = Task.objects.filter(project__in=p_only).values_list("title", flat=True)
        assert list(nested) == [f"t {sub}"]
        union = p_only.values_list("name", flat=True).union(
            Project.objects.filter(name__startswith="q ").values_list("name", flat=True)
        )
        assert sorted(union) == [f"p {sub}", f"q {sub}"]
        assert Project.objects.none().count() == 0
