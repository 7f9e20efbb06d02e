"""delete_tenant failing after its point of no return: the one line says how to finish."""

import psycopg
import pytest
from django.core.management import CommandError, call_command

from tenants.backends.shared import SharedBackend
from tenants.models import Tenant
from tests.conftest import unique_subdomain

pytestmark = pytest.mark.slow


def test_a_delete_that_fails_part_way_says_how_to_finish(committed_db, monkeypatch):
    """Left 'deleting' by a failure after the point of no return (probe: a tenant database's
    server gone mid-delete): the one line says so and how to finish; re-running finishes."""
    sub = unique_subdomain("delpart")
    call_command("create_tenant", name="Part", subdomain=sub)

    def server_gone(self, tenant):
        raise psycopg.OperationalError("connection to server at 10.0.0.9 failed: timeout")

    monkeypatch.setattr(SharedBackend, "deprovision", server_gone)
    with pytest.raises(CommandError) as failed:
        call_command("delete_tenant", sub, "--yes", "--no-backup")
    message = str(failed.value)
    assert "database unavailable" in message and "left 'deleting'" in message
    assert f"delete_tenant {sub} --yes" in message and "\n" not in message
    monkeypatch.undo()
    call_command("delete_tenant", sub, "--yes", "--no-backup")
    assert not Tenant.objects.filter(subdomain=sub).exists()
