"""create_tenant is all or nothing, and refuses contradictions in one line (operator's door)."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.conftest import unique_subdomain
from tests.tenants.manage import manage, one_line_error


def _create(url, sub, *extra):
    return manage(url, "create_tenant", "--name", "Atomic", "--subdomain", sub, *extra)


def test_weak_owner_password_leaves_nothing_and_the_retry_succeeds(committed_db, test_database_url):
    sub = unique_subdomain("weak")
    owner = ["--owner-email", "boss@example.com"]
    refused = _create(test_database_url, sub, *owner, "--owner-password", "password")
    assert "password" in one_line_error(refused).lower()
    assert not Tenant.objects.filter(subdomain=sub).exists()

    retried = _create(test_database_url, sub, *owner, "--owner-password", "long-enough-pw-1")
    assert retried.returncode == 0, retried.stderr
    tenant = Tenant.objects.get(subdomain=sub)
    with tenant_scope(tenant):
        assert list(User.objects.values_list("email", "role")) == [("boss@example.com", Role.OWNER)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--plan", "enterprise", "--isolation", "shared"], "requires database isolation"),
        (["--plan", "enterprise", "--isolation", "schema"], "requires database isolation"),
        # No server in the region: refused in every mode (never placed elsewhere).
        (["--region", "eu"], "no database server registered in region 'eu'"),
        (["--isolation", "schema", "--region", "eu"], "no database server registered"),
        (["--isolation", "database", "--region", "eu"], "no database server registered"),
        (["--owner-email", "not-an-address"], "not a valid address"),
    ],
)
def test_contradictions_are_refused_in_one_line(committed_db, test_database_url, args, expected):
    sub = unique_subdomain("contra")
    line = one_line_error(_create(test_database_url, sub, *args))
    assert expected in line
    assert not Tenant.objects.filter(subdomain=sub).exists()


def test_a_failure_after_provisioning_removes_the_placement(committed_db, monkeypatch):
    from django.core.management import CommandError, call_command
    from django.db import connections

    import accounts.services

    seen = []

    def broken(*, tenant, **kwargs):
        seen.append(tenant)
        raise accounts.services.AccountError("mail server on fire")

    monkeypatch.setattr(accounts.services, "user_create", broken)
    sub = unique_subdomain("half")
    with pytest.raises(CommandError, match="on fire"):
        call_command(
            "create_tenant",
            name="Half",
            subdomain=sub,
            isolation="schema",
            owner_email="o@example.com",
            owner_password="long-enough-pw-1",
        )
    (half,) = seen
    assert not Tenant.objects.filter(subdomain=sub).exists()
    with connections["operator"].cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [half.schema_name])
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM billing_subscription WHERE tenant_id = %s", [half.pk])
        assert cur.fetchone()[0] == 0
    # The name is free again at once (no reservation for a creation that never finished).
    monkeypatch.undo()
    call_command("create_tenant", name="Whole", subdomain=sub, isolation="schema")
    assert Tenant.objects.get(subdomain=sub).pk != half.pk
