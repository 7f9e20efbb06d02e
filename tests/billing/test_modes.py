"""Billing in every isolation mode: limits hold, billing rows stay in the main database."""

from datetime import UTC, datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from billing.invoices import invoice_for_period
from billing.limits import PlanLimitExceeded, limit_check
from billing.models import PlanChange, Subscription, UsageRecord
from billing.subscriptions import subscription_change_plan
from billing.usage import usage_rollup
from projects.models import Project
from projects.services import project_create
from tenants.context import tenant_scope
from tenants.models import Tenant
from tenants.routers import data_alias
from tenants.transactions import tenant_atomic
from tests.billing.conftest import plan, private_plan
from tests.billing.test_race import PATIENT, N, kinds, race
from tests.conftest import make_tenant
from tests.factories import ProjectFactory

PERIOD = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
BILLING_TABLES = [
    "billing_subscription",
    "billing_planchange",
    "billing_usagerecord",
    "billing_invoice",
    "billing_invoiceline",
]


def tables_in_placement(tenant) -> list[str]:
    """Billing tables that exist where the tenant's data lives (its schema or database)."""
    alias = data_alias(tenant)
    schema = tenant.schema_name if tenant.isolation == "schema" else "public"
    with tenant_scope(tenant), connections[alias].cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = ANY(%s)",
            [schema, BILLING_TABLES],
        )
        return sorted(r[0] for r in cur.fetchall())


@pytest.mark.django_db
def test_limits_plan_change_and_records_in_each_mode(mode, django_capture_on_commit_callbacks):
    tenant = make_tenant(mode, "mode", plan=plan("free"))
    with tenant_scope(tenant):
        for i in range(3):
            project_create(tenant=tenant, name=f"p{i}")
        with pytest.raises(PlanLimitExceeded):
            project_create(tenant=tenant, name="p3")
    with django_capture_on_commit_callbacks(execute=True):
        subscription_change_plan(tenant=tenant, plan_code="pro")
    with tenant_scope(tenant):
        project_create(tenant=tenant, name="p3")
        assert Project.objects.count() == 4
    usage_rollup(tenant=tenant, period_start=PERIOD[0], period_end=PERIOD[1])
    invoice = invoice_for_period(tenant=tenant, tax_rate="0.19")

    with tenant_scope(tenant):
        # Billing rows: the main database (default alias), whatever the mode.
        assert Subscription.objects.db == "default"
        assert Subscription.objects.get().plan.code == "pro"
        assert PlanChange.objects.filter(to_plan__code="pro").count() == 1
        assert UsageRecord.objects.get(metric="projects").quantity == 4
        assert str(invoice.total) == "58.31"
        # The audit row goes with the tenant's data.
        assert AuditEvent.objects.db == data_alias(tenant)
        assert AuditEvent.objects.filter(action="plan.change").count() == 1
    if mode == "shared":
        assert tables_in_placement(tenant) == sorted(BILLING_TABLES)  # the shared public schema
    else:
        assert tables_in_placement(tenant) == [], "billing tables are never created in a placement"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["schema", "database"])
def test_twenty_concurrent_projects_in_own_placement(committed_db, mode):
    tenant = make_tenant(
        mode, "race-mode", plan=private_plan(max_projects=4, statement_timeout_ms=PATIENT)
    )
    outcomes = race(tenant, [lambda i: project_create(tenant=tenant, name=f"p{i}")] * N)
    assert kinds(outcomes) == ["limit", "ok"], outcomes
    assert [kind for kind, _ in outcomes].count("ok") == 4
    with tenant_scope(tenant):
        assert Project.objects.count() == 4


@pytest.mark.django_db
def test_a_limit_check_is_one_statement_where_the_rows_live(mode):
    """Lock, plan and count in one round trip on the data alias, and still a refusal.

    A tenant in its own database reads its plan on the main database once; from then on
    the limits kept where its rows live confirm the plan it carries (no main statement).
    """
    created = make_tenant(mode, "one-stmt", plan=private_plan(max_projects=2))
    # As the registry resolves it: the plan on the instance.
    tenant = Tenant.objects.select_related("plan").get(pk=created.pk)
    ProjectFactory(tenant=tenant)
    alias = data_alias(tenant)

    def statements(adding):
        with tenant_scope(tenant), tenant_atomic():
            with (
                CaptureQueriesContext(connections[alias]) as captured,
                CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as main,
            ):
                try:
                    limit_check(tenant=tenant, limit="max_projects", adding=adding)
                except PlanLimitExceeded as exc:
                    return captured.captured_queries, main.captured_queries, exc
            return captured.captured_queries, main.captured_queries, None

    statements(1)  # a tenant in its own database keeps its limits there
    queries, on_main, refused = statements(1)
    assert refused is None and len(queries) == 1, queries
    assert alias == DEFAULT_DB_ALIAS or on_main == [], on_main
    queries, on_main, refused = statements(2)
    assert (refused.limit_value, refused.usage) == (2, 1)
    # The decision was the same one statement; only the refusal's message reads more.
    assert "saas_limit_" in queries[0]["sql"], queries
    assert not any("saas_limit_" in q["sql"] for q in queries[1:]), queries


@pytest.mark.django_db
def test_the_limit_check_plans_under_its_own_search_path():
    """A schema tenant's path would make every cached plan of the function re-planned when
    tenants take turns on a connection (migration 0011): the function pins its own path
    and counts under the caller's (the test below: each schema counts its own tables)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute(
            "SELECT pg_get_function_identity_arguments(p.oid), p.proconfig FROM pg_proc p "
            "WHERE p.proname = 'saas_limit_check' AND p.pronamespace = 'public'::regnamespace"
        )
        forms = dict(cur.fetchall())
    current = next(args for args in forms if "p_search_path text" in args)
    assert forms[current] == ["search_path=pg_catalog, public"], forms


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["schema"])
def test_schema_tenants_on_one_connection_count_their_own_tables(mode):
    """The counting functions live in public and resolve tables through search_path: a
    plan cached for one tenant's schema must not count another's (RLS would hide those
    rows and the check would undercount)."""
    first, second = (make_tenant(mode, "sp", plan=private_plan(max_projects=3)) for _ in "ab")
    for _ in range(2):
        ProjectFactory(tenant=first)
    for tenant, expected in ((first, 2), (second, 0), (first, 2), (second, 0)):
        # Always over the limit: the refusal reports the usage counted.
        with tenant_scope(tenant), tenant_atomic(), pytest.raises(PlanLimitExceeded) as info:
            limit_check(tenant=tenant, limit="max_projects", adding=10)
        assert info.value.usage == expected


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["database"])
def test_own_database_without_kept_limits_decides_on_the_fresh_plan(mode):
    """No limits kept yet: the fresh plan decides, whatever plan the instance carries (which
    then only chooses whether the count rides along with the plan lock)."""
    tight, loose = private_plan(max_projects=1), private_plan(max_projects=None)
    limited = make_tenant(mode, "stale", plan=tight)
    unlimited = make_tenant(mode, "stale", plan=loose)
    for tenant in (limited, unlimited):
        ProjectFactory(tenant=tenant)
    # Each instance believes the other plan (a cache not yet refreshed).
    limited.plan, unlimited.plan = loose, tight
    with tenant_scope(limited), tenant_atomic(), pytest.raises(PlanLimitExceeded) as info:
        limit_check(tenant=limited, limit="max_projects")
    assert (info.value.limit_value, info.value.usage) == (1, 1)
    with tenant_scope(unlimited), tenant_atomic():
        limit_check(tenant=unlimited, limit="max_projects", adding=10)


@pytest.mark.parametrize("mode", ["database"])
def test_own_database_reads_its_plan_without_a_context_on_the_main_database(committed_db, mode):
    """The plan read is one bare statement on the main database: no enter call rides on it
    (the fence, locks and timeout belong to the tenant's database, taken there first)."""
    tenant = make_tenant(mode, "bare", plan=private_plan(max_projects=1))
    tenant = Tenant.objects.select_related("plan").get(pk=tenant.pk)
    with (
        tenant_scope(tenant),
        tenant_atomic(),
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as main,
    ):
        limit_check(tenant=tenant, limit="max_projects")
    sent = [q["sql"] for q in main.captured_queries]
    assert len(sent) == 1 and "saas_plan_limits" in sent[0], sent
    assert "saas_enter_tenant" not in sent[0] and "app.current_tenant" not in sent[0], sent
    ProjectFactory(tenant=tenant)
    with tenant_scope(tenant), tenant_atomic(), pytest.raises(PlanLimitExceeded) as info:
        limit_check(tenant=tenant, limit="max_projects")
    assert (info.value.limit_value, info.value.usage) == (1, 1)


def _two_projects_with_kept_limits(mode, prefix, plan):
    """A tenant on `plan` with two projects, as the registry resolves it (the plan on the
    instance), after one check has kept the plan's limits beside its rows."""
    created = make_tenant(mode, prefix, plan=plan)
    tenant = Tenant.objects.select_related("plan").get(pk=created.pk)
    for _ in range(2):
        ProjectFactory(tenant=tenant)
    with tenant_scope(tenant), tenant_atomic():
        limit_check(tenant=tenant, limit="max_projects")
    return tenant


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["database"])
def test_a_plan_change_reaches_an_instance_that_still_carries_the_old_plan(mode):
    """The kept limits go with the plan change (under the exclusive plan lock): a cached
    instance not yet refreshed is never confirmed, and the new plan decides at once."""
    loose, tight = private_plan(max_projects=5), private_plan(max_projects=2)
    stale = _two_projects_with_kept_limits(mode, "keep", loose)
    with tenant_scope(stale):
        subscription_change_plan(tenant=Tenant.objects.get(pk=stale.pk), plan_code=tight.code)
    assert stale.plan == loose  # the instance a cache would still hand out
    with tenant_scope(stale), tenant_atomic(), pytest.raises(PlanLimitExceeded) as info:
        limit_check(tenant=stale, limit="max_projects")
    assert (info.value.limit_value, info.value.usage) == (2, 2)


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["database"])
def test_an_edited_plan_is_read_fresh_by_an_instance_that_carries_the_edit(mode):
    """Kept limits that differ from the instance's plan confirm nothing: the plan is read
    on the main database and the kept limits are rewritten."""
    from billing.models import PlanLimits
    from billing.plans import plan_update

    edited = private_plan(max_projects=5)
    created = _two_projects_with_kept_limits(mode, "edit", edited)
    plan_update(code=edited.code, max_projects=2)
    refreshed = Tenant.objects.select_related("plan").get(pk=created.pk)
    with tenant_scope(refreshed), tenant_atomic(), pytest.raises(PlanLimitExceeded) as info:
        limit_check(tenant=refreshed, limit="max_projects")
    assert (info.value.limit_value, info.value.usage) == (2, 2)
    with tenant_scope(refreshed):
        kept = PlanLimits.objects.get()
    assert (kept.plan_id, kept.max_projects) == (edited.pk, 2)
