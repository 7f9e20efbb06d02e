"""delete_tenant refused before it removes anything: one line, and the tenant as it was.

A backup that cannot be written (a file already there, no directory) is refused before the
tenant is touched; one that fails while it is written puts the tenant back in its status.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tenants.models import Tenant, TenantStatus
from tests.conftest import make_tenant
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.slow]


def _served(tenant) -> bool:
    host = f"{tenant.subdomain}.localhost"
    return Client().get("/", HTTP_HOST=host).status_code != 404


def _delete(tenant, target) -> None:
    call_command(
        "delete_tenant", tenant.subdomain, "--yes", f"--output={target}", stdout=io.StringIO()
    )


def _refused(tenant, target) -> str:
    with pytest.raises(CommandError) as refused:
        _delete(tenant, target)
    message = str(refused.value)
    assert "nothing deleted" in message and "\n" not in message, message
    return message


@pytest.mark.parametrize("case", ["file-exists", "no-directory", "a-file-for-directory"])
def test_a_backup_target_that_cannot_be_written_is_refused_before_anything_changes(
    committed_db, tmp_path, case
):
    tenant = make_tenant("shared", "delout")
    ProjectFactory(tenant=tenant, name="kept")
    target = tmp_path / "backup.jsonl"
    if case == "file-exists":
        target.write_text("somebody's file")
    elif case == "no-directory":
        target = tmp_path / "missing" / "backup.jsonl"
    else:
        (tmp_path / "plain").write_text("")
        target = tmp_path / "plain" / "backup.jsonl"

    message = _refused(tenant, target)

    assert ("exists" in message) == (case == "file-exists")
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE
    assert _served(tenant)
    if case == "file-exists":
        assert target.read_text() == "somebody's file"


def test_a_backup_failing_while_written_puts_the_tenant_back_as_it_was(
    committed_db, tmp_path, mode, monkeypatch
):
    tenant = make_tenant(mode, "delfail")
    ProjectFactory(tenant=tenant, name="kept")
    Tenant.objects.using("operator").filter(pk=tenant.pk).update(status=TenantStatus.SUSPENDED)
    target = tmp_path / "backup.jsonl"

    def disk_full(**kwargs):  # the backup's disk fills up while it is written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tenants.backup.tenant_export", disk_full)
    message = _refused(tenant, target)
    monkeypatch.undo()

    assert "No space left" in message and "is suspended again, as it was" in message
    assert not target.exists()
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.SUSPENDED
    call_command("reactivate_tenant", tenant.subdomain, stdout=io.StringIO())
    assert _served(tenant)
    _delete(tenant, target)
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert "kept" in target.read_text()
