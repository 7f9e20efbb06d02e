"""Operator commands for the tenant registry."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from tenants.context import tenant_scope
from tenants.models import Tenant, TenantStatus
from tests.conftest import unique_subdomain

pytestmark = pytest.mark.django_db


def test_create_tenant_with_owner(capsys):
    sub = unique_subdomain("cmd")
    call_command(
        "create_tenant",
        name="Cmd Org",
        subdomain=sub,
        plan="pro",
        owner_email="Owner@Example.com",
        owner_password="long-enough-pw-1",
    )
    tenant = Tenant.objects.get(subdomain=sub)
    assert (tenant.name, tenant.plan.code, tenant.isolation, tenant.status) == (
        "Cmd Org",
        "pro",
        "shared",
        TenantStatus.ACTIVE,
    )
    with tenant_scope(tenant):
        owner = User.objects.get()
    assert (owner.email, owner.role) == ("owner@example.com", Role.OWNER)
    assert owner.check_password("long-enough-pw-1")
    out = capsys.readouterr().out
    assert sub in out and "owner Owner@Example.com signs in with the given password" in out


def test_an_owner_without_a_password_is_told_how_to_get_one(capsys):
    """The output said nothing about an owner created without a password (probe)."""
    sub = unique_subdomain("cmd")
    call_command("create_tenant", name="No Pw", subdomain=sub, owner_email="np@example.com")
    out = capsys.readouterr().out
    assert "owner np@example.com has no password yet" in out and "Forgot your password?" in out
    tenant = Tenant.objects.get(subdomain=sub)
    with tenant_scope(tenant):
        assert not User.objects.get().has_usable_password()


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("Upper", "lowercase"),
        ("ab", "3–63"),
        ("www", "reserved"),
        ("xn--abc", "--"),
        ("a" * 64, "3–63"),
        ("bad_sub", "lowercase"),
        ("lead-", "lowercase"),
    ],
)
def test_create_tenant_rejects_invalid_subdomains(subdomain, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_tenant", name="X", subdomain=subdomain)
    assert not Tenant.objects.filter(subdomain=subdomain).exists()


def test_create_tenant_rejects_taken_subdomain(tenant_a):
    with pytest.raises(CommandError, match="already taken"):
        call_command("create_tenant", name="Again", subdomain=tenant_a.subdomain)
    assert Tenant.objects.filter(subdomain=tenant_a.subdomain).count() == 1


def test_create_tenant_rejects_unknown_plan():
    with pytest.raises(CommandError, match="Unknown plan 'gold'"):
        call_command("create_tenant", name="X", subdomain=unique_subdomain(), plan="gold")


def test_suspend_and_reactivate(tenant_a):
    call_command("suspend_tenant", tenant_a.subdomain, reason="unpaid")
    tenant_a.refresh_from_db()
    assert (tenant_a.status, tenant_a.status_reason) == (TenantStatus.SUSPENDED, "unpaid")
    with pytest.raises(CommandError, match="already suspended"):
        call_command("suspend_tenant", tenant_a.subdomain)
    call_command("reactivate_tenant", tenant_a.subdomain)
    tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.ACTIVE
    with pytest.raises(CommandError, match="No tenant"):
        call_command("suspend_tenant", "no-such-tenant")


def test_failing_command_exits_non_zero_with_message(test_database_url):
    import os

    env = dict(os.environ, DATABASE_URL=test_database_url)
    result = subprocess.run(
        [sys.executable, "manage.py", "create_tenant", "--name", "X", "--subdomain", "www"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    assert "'www' is reserved" in result.stderr


def test_seed_demo_is_idempotent_and_serves_a_demo(capsys):
    from operators.models import Operator
    from projects.models import Project

    call_command("seed_demo")
    call_command("seed_demo")
    tenant = Tenant.objects.get(subdomain="demo")
    with tenant_scope(tenant):
        assert Project.objects.count() == 3
        assert User.objects.get().email == "admin@demo.example"
    assert Operator.objects.filter(email="ops@demo.example").count() == 1
    assert "already present" in capsys.readouterr().out
