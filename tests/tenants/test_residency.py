"""Residency of what is not rows: export and backup files per region, cached values per region."""

import io
import uuid

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from jobs.services import JobError, job_start
from tenants.backup import backup_path_for, backup_write
from tenants.cache import RegionalCache
from tenants.context import tenant_scope
from tenants.models import TenantStatus
from tenants.residency import ResidencyError, check_path, export_dir, exports_remove
from tenants.services import tenant_get
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.factories.accounts import PASSWORD


def region() -> str:
    return f"eu-{uuid.uuid4().hex[:6]}"


def test_files_of_a_region_stay_under_its_storage(tmp_path):
    eu = region()
    with override_settings(TENANT_REGION_STORAGE={eu: str(tmp_path / "eu")}):
        assert export_dir(eu) == tmp_path / "eu" / "exports"
        assert check_path(eu, tmp_path / "eu" / "backups" / "x.jsonl")
        with pytest.raises(ResidencyError, match="outside the storage of region"):
            check_path(eu, tmp_path / "elsewhere.jsonl")
        with pytest.raises(ResidencyError, match="no storage configured for region 'mars'"):
            export_dir("mars")
        # The default region keeps the single-region stores.
        assert export_dir(settings.TENANT_DEFAULT_REGION) == settings.MEDIA_ROOT / "exports"


def test_a_tenant_of_a_region_without_storage_is_deleted_all_the_same(tmp_path):
    """It never had exports: removing them is nothing, not an error halfway through a deletion."""
    eu = region()
    folder = tmp_path / "eu" / "exports" / "t1"
    folder.mkdir(parents=True)
    (folder / "job.jsonl").write_text("{}")
    with override_settings(TENANT_REGION_STORAGE={eu: str(tmp_path / "eu")}):
        exports_remove(eu, "t1")
        exports_remove("mars", uuid.uuid4())  # no storage for mars: nothing to remove
    assert not folder.exists()


def test_backups_are_written_in_the_region_and_refused_elsewhere(db, tmp_path):
    eu = region()
    tenant = TenantFactory(subdomain=unique_subdomain("bk"), region=eu)
    with override_settings(TENANT_REGION_STORAGE={eu: str(tmp_path / "eu")}):
        path, _ = backup_write(tenant=tenant)
        assert path.parent == tmp_path / "eu" / "backups"
        with pytest.raises(ResidencyError):
            backup_write(tenant=tenant, path=tmp_path / "us" / "b.jsonl")
    with pytest.raises(ResidencyError, match="no storage configured"):
        backup_path_for(tenant)


def test_commands_refuse_files_outside_the_region_in_one_line(committed_db, tmp_path):
    eu = region()
    tenant = TenantFactory(subdomain=unique_subdomain("cmd"), region=eu)
    with override_settings(TENANT_REGION_STORAGE={eu: str(tmp_path / "eu")}):
        with pytest.raises(CommandError, match="outside the storage of region"):
            call_command("export_tenant", tenant.subdomain, "--output", str(tmp_path / "x.jsonl"))
        with pytest.raises(CommandError, match="nothing deleted"):
            call_command(
                "delete_tenant",
                tenant.subdomain,
                "--yes",
                "--output",
                str(tmp_path / "x.jsonl"),
                stdout=io.StringIO(),
            )
    assert tenant_get(tenant.subdomain).status == TenantStatus.ACTIVE
    with pytest.raises(CommandError, match="no storage configured"):
        call_command("delete_tenant", tenant.subdomain, "--yes", stdout=io.StringIO())
    assert tenant_get(tenant.subdomain).status == TenantStatus.ACTIVE


def test_an_export_its_region_cannot_store_is_refused_with_the_api_envelope(db):
    tenant = TenantFactory(subdomain=unique_subdomain("exp"), region=region())
    with pytest.raises(JobError, match="no storage configured"):
        job_start(kind="tenant_export", tenant=tenant)
    UserFactory(tenant=tenant, email="admin@exp.test", role="admin")
    client = Client()
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    login = client.post(
        "/accounts/login/", {"email": "admin@exp.test", "password": PASSWORD}, HTTP_HOST=host
    )
    assert login.status_code == 302
    response = client.post("/exports/", HTTP_HOST=host)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "job_refused"
    assert "no storage configured" in response.json()["error"]["message"]


def test_cached_values_stay_in_the_tenant_region(db):
    home = settings.TENANT_DEFAULT_REGION
    cache = RegionalCache("", {"OPTIONS": {"regions": {home: f"region:{home}"}, "home": home}})
    local = TenantFactory(subdomain=unique_subdomain("c-home"))
    far = TenantFactory(subdomain=unique_subdomain("c-far"), region=region())
    with tenant_scope(local):
        cache.set("k", "home value", 30)
        assert cache.get("k") == "home value"
    with tenant_scope(far):
        # No cache in that region: nothing kept, nothing sent to the home region's store.
        cache.set("k", "far value", 30)
        assert cache.get("k") is None
        assert cache.add("k", "far value") is False
    with tenant_scope(local):
        assert cache.get("k") == "home value"
        cache.delete("k")
