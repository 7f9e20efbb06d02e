"""A move that cannot happen leaves the tenant served where it was, and says why in one line."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from billing.models import Plan
from tenants.control import control_alias
from tenants.models import Tenant, TenantMove
from tests.conftest import make_tenant
from tests.factories import ProjectFactory
from tests.live import free_port

pytestmark = [pytest.mark.slow]


def test_an_unreachable_destination_gives_the_tenant_back_at_once(committed_db):
    tenant = make_tenant("shared", "unreach")
    ProjectFactory(tenant=tenant, name="still-here")
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/typo"
    # Refused before the move starts: a server is registered only once it answers.
    with pytest.raises(CommandError, match="cannot connect to the server at --url"):
        call_command("move_tenant", tenant.subdomain, "--to", "database", "--database-url", url)
    fresh = Tenant.objects.get(pk=tenant.pk)
    assert (fresh.status, fresh.isolation) == ("active", "shared")
    assert not TenantMove.objects.using(control_alias("test")).filter(tenant=tenant).exists()
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    assert Client().get("/accounts/login/", HTTP_HOST=host).status_code == 200


def test_a_move_against_the_plans_isolation_is_refused(committed_db):
    tenant = make_tenant("database", "entmv", plan=Plan.objects.get(code="enterprise"))
    with pytest.raises(CommandError, match="requires database isolation"):
        call_command("move_tenant", tenant.subdomain, "--to", "shared")
    assert Tenant.objects.get(pk=tenant.pk).isolation == "database"
