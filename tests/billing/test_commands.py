"""The operator door: list_plans, update_plan, change_plan."""

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.limits import PlanLimitExceeded
from billing.models import Plan
from projects.services import project_create
from tenants import resolvers
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.billing.conftest import private_plan, tenant_on
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory
from tests.live import ROOT


@pytest.mark.django_db
def test_list_plans_json(capsys):
    call_command("list_plans", "--json")
    plans = {p["code"]: p for p in json.loads(capsys.readouterr().out)}
    assert plans["free"] == {
        "code": "free",
        "name": "Free",
        "monthly_price": "0.00",
        "currency": "EUR",
        "max_members": 3,
        "max_projects": 3,
        "max_tasks_per_project": 50,
        "api_requests_per_minute": 60,
        "statement_timeout_ms": 2000,
        "max_concurrent_requests": 2,
        "required_isolation": "",
        "features": ["api_access"],
        "sla_p95_ms": 1000,
        "sla_availability_pct": "99.000",
        "is_public": True,
    }
    assert (plans["enterprise"]["sla_p95_ms"], plans["enterprise"]["sla_availability_pct"]) == (
        300,
        "99.900",
    )
    assert plans["enterprise"]["max_projects"] is None
    assert plans["enterprise"]["required_isolation"] == "database"
    assert plans["pro"]["monthly_price"] == "49.00"


@pytest.mark.django_db
def test_list_plans_table(capsys):
    call_command("list_plans")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["code", "price", "members"]
    enterprise = next(line for line in lines if line.startswith("enterprise"))
    assert enterprise.split()[1:6] == ["499.00", "EUR", "unlimited", "unlimited", "unlimited"]


@pytest.mark.django_db
def test_update_plan_takes_effect_for_its_tenants(capsys):
    test_plan = private_plan(max_projects=1)
    tenant = TenantFactory(plan=test_plan)
    with tenant_scope(tenant):
        project_create(tenant=tenant, name="one")
        with pytest.raises(PlanLimitExceeded):
            project_create(tenant=tenant, name="two")
    call_command(
        "update_plan",
        test_plan.code,
        "--max-projects",
        "2",
        "--max-members",
        "unlimited",
        "--api-rpm",
        "120",
        "--price",
        "9.50",
        "--add-feature",
        "audit_log",
        "--remove-feature",
        "api_access",
    )
    test_plan.refresh_from_db()
    assert (test_plan.max_projects, test_plan.max_members, test_plan.api_requests_per_minute) == (
        2,
        None,
        120,
    )
    assert test_plan.monthly_price == Decimal("9.50")
    assert test_plan.features == ["audit_log"]
    assert f"updated {test_plan.code}" in capsys.readouterr().out
    with tenant_scope(tenant):
        project_create(tenant=tenant, name="two")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gold", "--max-projects", "3"], "Unknown plan 'gold'"),
        (["free", "--max-projects", "many"], "must be an integer. \\(or 'unlimited'\\)"),
        (["free", "--max-projects", "-1"], "greater than or equal to 0"),
        (["free", "--max-projects", "99999999999"], "less than or equal to 2147483647"),
        (["free", "--api-rpm", "0"], "api_requests_per_minute must be a whole number ≥ 1"),
        (["free", "--price", "-1"], "price must be ≥ 0"),
        (["free", "--price", "1.234"], "no more than 2 decimal places"),
        (["free", "--price", "abc"], "must be a decimal number"),
        (["free", "--price", "9999999999999999"], "no more than 10 digits"),
        (["free", "--remove-feature", "audit_log"], "free does not include audit_log"),
        (["free"], "Nothing to change"),
        (["pro", "--add-feature", "dedicated_database"], "cannot list dedicated_database"),
    ],
)
def test_update_plan_errors(args, message):
    before = list(Plan.objects.values())
    with pytest.raises(CommandError, match=message):
        call_command("update_plan", *args)
    assert list(Plan.objects.values()) == before


@pytest.mark.django_db
def test_update_plan_drops_cached_tenants_of_that_plan(django_capture_on_commit_callbacks):
    test_plan = private_plan(statement_timeout_ms=1000)
    tenant = TenantFactory(plan=test_plan)
    resolvers.clear_local()
    assert resolvers.tenant_for_subdomain(tenant.subdomain).plan.statement_timeout_ms == 1000
    with django_capture_on_commit_callbacks(execute=True):
        call_command("update_plan", test_plan.code, "--statement-timeout-ms", "1500")
    fresh = resolvers.tenant_for_subdomain(tenant.subdomain)
    # The prefix's arguments: tenant, placement, search_path, timeout, slots, wait, attribution.
    assert fresh.context_prefix[0].split(", ")[3] == "1500"  # the timeout the prefix sets


@pytest.mark.django_db
def test_change_plan_command(capsys, django_capture_on_commit_callbacks):
    tenant = tenant_on("free")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("change_plan", tenant.subdomain, "pro")
    assert capsys.readouterr().out.strip() == f"{tenant.subdomain}: free -> pro"
    assert Tenant.objects.get(pk=tenant.pk).plan.code == "pro"
    call_command("change_plan", tenant.subdomain, "pro")
    assert "already on pro" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No tenant with subdomain 'nope-nope'"):
        call_command("change_plan", "nope-nope", "pro")
    with pytest.raises(CommandError, match="Unknown plan 'gold'"):
        call_command("change_plan", tenant.subdomain, "gold")


@pytest.mark.slow
def test_change_plan_refusal_exits_non_zero_with_what_exceeds(committed_db, test_database_url):
    tenant = TenantFactory(
        subdomain=unique_subdomain("cmd-down"), plan=Plan.objects.get(code="pro")
    )
    for _ in range(4):
        ProjectFactory(tenant=tenant)
    env = dict(
        os.environ, DATABASE_URL=test_database_url, DJANGO_SETTINGS_MODULE="saas.settings.test"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "change_plan", tenant.subdomain, "free"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Cannot change to Free" in result.stderr
    assert "max_projects: limit 3, usage 4" in result.stderr
    assert Tenant.objects.get(pk=tenant.pk).plan.code == "pro"
