"""Deleting a tenant: its subdomain stays reserved; its operator backup brings it back whole."""

from __future__ import annotations

import json
import os
import re
import stat
import urllib.parse
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from tenants.context import tenant_scope
from tenants.export import BACKUP, export_models
from tenants.models import SubdomainReservation, Tenant
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TaskFactory
from tests.live import LiveServer, http
from tests.tenants.manage import manage, one_line_error

OWNER = ("owner@example.com", "long-enough-pw-1")


def _create(url, sub, *extra):
    result = manage(url, "create_tenant", "--name", "Delta", "--subdomain", sub, *extra)
    return result


def _snapshot(tenant) -> dict[str, list]:
    snap = {}
    with tenant_scope(tenant):
        for model, _ in export_models(BACKUP):
            rows = model.unscoped.filter(tenant_id=tenant.pk).order_by("pk")
            snap[model._meta.label] = [
                {f.attname: getattr(o, f.attname) for f in model._meta.concrete_fields}
                for o in rows
            ]
    # The deletion drops a tenant database WITH (FORCE): hold no connection to it.
    for alias in list(connections):
        if alias.startswith("tenant_"):
            connections[alias].close()
    return snap


def _availability(server, sub) -> str:
    query = urllib.parse.urlencode({"subdomain": sub})
    status, _, body = http(
        "GET", f"{server.url}/signup/check-subdomain/?{query}", settings.BASE_DOMAIN
    )
    assert status == 200
    return body.decode()


def _login(server, sub, email, password) -> int:
    host = f"{sub}.{settings.BASE_DOMAIN}"
    status, headers, _ = http("GET", f"{server.url}/accounts/login/", host)
    cookie = headers["Set-Cookie"]
    token = re.search(r"csrftoken=([^;]+)", cookie).group(1)
    body = urllib.parse.urlencode(
        {"email": email, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    status, headers, _ = http(
        "POST",
        f"{server.url}/accounts/login/",
        host,
        body=body,
        headers={
            "Cookie": f"csrftoken={token}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://{host}/accounts/login/",
        },
    )
    return status


def test_a_deleted_subdomain_is_reserved_until_an_operator_releases_it(
    committed_db, test_database_url
):
    sub = unique_subdomain("delta")
    assert _create(test_database_url, sub).returncode == 0
    deleted = manage(test_database_url, "delete_tenant", sub, "--yes", "--no-backup")
    assert deleted.returncode == 0, deleted.stderr

    line = one_line_error(_create(test_database_url, sub))
    assert line == f"error: The subdomain '{sub}' is not available."
    assert not Tenant.objects.filter(subdomain=sub).exists()
    assert "reserved until" in deleted.stdout

    with LiveServer(test_database_url) as server:
        check = _availability(server, sub)
        assert "is not available" in check and "Delta" not in check and "delet" not in check
        form = Client(HTTP_HOST=settings.BASE_DOMAIN).post(
            "/signup/",
            {
                "name": "Stranger",
                "subdomain": sub,
                "plan": "free",
                "email": "x@stranger.test",
                "password": "rocket-science-42",
            },
        )
        assert form.status_code == 400 and "is not available" in form.content.decode()
        assert not Tenant.objects.filter(subdomain=sub).exists()

        released = manage(test_database_url, "release_subdomain", sub)
        assert released.returncode == 0 and f"released {sub}" in released.stdout
        assert "is available" in _availability(server, sub)
    assert _create(test_database_url, sub).returncode == 0
    assert "not reserved" in one_line_error(manage(test_database_url, "release_subdomain", sub))


def test_an_expired_reservation_frees_the_name(committed_db, test_database_url):
    from django.utils import timezone

    sub = unique_subdomain("old")
    assert _create(test_database_url, sub).returncode == 0
    assert manage(test_database_url, "delete_tenant", sub, "--yes", "--no-backup").returncode == 0
    early = manage(test_database_url, "release_subdomain", "--expired")
    assert early.returncode == 0 and early.stdout.strip() and sub not in early.stdout
    SubdomainReservation.objects.using("operator").filter(subdomain=sub).update(  # registry
        expires_at=timezone.now()
    )
    swept = manage(test_database_url, "release_subdomain", "--expired")
    assert swept.returncode == 0 and f"released {sub}" in swept.stdout
    assert _create(test_database_url, sub).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["shared", "database"])
def test_delete_then_import_brings_the_tenant_back(committed_db, test_database_url, mode):
    sub = unique_subdomain(f"back-{mode[:2]}")
    owner = ["--owner-email", OWNER[0], "--owner-password", OWNER[1]]
    created = _create(test_database_url, sub, "--isolation", mode, "--plan", "pro", *owner)
    assert created.returncode == 0, created.stderr
    tenant = Tenant.objects.get(subdomain=sub)
    project = ProjectFactory(tenant=tenant, name="survives")
    TaskFactory(tenant=tenant, project=project, title="also survives")
    before = _snapshot(tenant)
    registry = Tenant.objects.filter(pk=tenant.pk).values(
        "name", "plan__code", "isolation", "region", "created_at"
    )[0]

    deleted = manage(test_database_url, "delete_tenant", sub, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    backup = Path(re.search(r"operator backup: (\S+) \(", deleted.stdout).group(1))
    assert backup.parent == Path(settings.TENANT_BACKUP_DIR)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700
    assert Path(settings.MEDIA_ROOT).resolve() not in backup.resolve().parents
    assert not Tenant.objects.filter(pk=tenant.pk).exists()

    restored = manage(test_database_url, "import_tenant", "--input", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert f"re-created {sub} ({tenant.pk})" in restored.stdout
    # Its retention no longer covers the backup: the operator is told (it holds hashes).
    assert f"{backup} still holds the tenant's data, password hashes included" in restored.stdout
    back = Tenant.objects.get(subdomain=sub)
    assert back.pk == tenant.pk and back.status == "active"
    assert (
        Tenant.objects.filter(pk=tenant.pk).values(
            "name", "plan__code", "isolation", "region", "created_at"
        )[0]
        == registry
    )
    assert _snapshot(back) == before
    assert not SubdomainReservation.objects.filter(subdomain=sub).exists()

    with LiveServer(test_database_url) as server:
        assert _login(server, sub, *OWNER) == 302
        assert _login(server, sub, OWNER[0], "wrong-password-x") == 200

    again = manage(test_database_url, "import_tenant", "--input", str(backup))
    assert again.returncode == 0 and f"restored {sub}" in again.stdout
    os.unlink(backup)


def test_a_customer_export_is_not_restorable(committed_db, test_database_url, tmp_path):
    sub = unique_subdomain("cust")
    assert _create(test_database_url, sub).returncode == 0
    path = tmp_path / "customer.jsonl"
    exported = manage(test_database_url, "export_tenant", sub, "--output", str(path))
    assert exported.returncode == 0, exported.stderr
    line = one_line_error(manage(test_database_url, "import_tenant", "--input", str(path)))
    assert "customer export" in line and "cannot be restored" in line


def test_a_backup_is_not_restored_under_another_name(committed_db, test_database_url, tmp_path):
    sub, other = unique_subdomain("mine"), unique_subdomain("theirs")
    assert _create(test_database_url, sub).returncode == 0
    path = tmp_path / "b.jsonl"
    assert (
        manage(
            test_database_url, "export_tenant", sub, "--backup", "--output", str(path)
        ).returncode
        == 0
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    line = one_line_error(manage(test_database_url, "import_tenant", other, "--input", str(path)))
    assert "belongs to another tenant" in line


def test_a_backup_cut_short_is_refused_whole_and_the_tenant_stays_deleted(
    committed_db, test_database_url, tmp_path
):
    sub = unique_subdomain("cut")
    assert _create(test_database_url, sub).returncode == 0
    tenant = Tenant.objects.get(subdomain=sub)
    project = ProjectFactory(tenant=tenant, name="kept")
    for n in range(6):
        TaskFactory(tenant=tenant, project=project, title=f"task {n}")
    deleted = manage(test_database_url, "delete_tenant", sub, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    backup = Path(re.search(r"operator backup: (\S+) \(", deleted.stdout).group(1))
    lines = backup.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["end"] == "tenantry-export"

    cut = {
        # A copy that stopped at a line boundary: the marker is missing.
        "at a line": ("".join(lines[:-3]), "incomplete"),
        # A copy that stopped inside a line: the damaged line is named.
        "inside a line": ("".join(lines[:-2])[:-20], f"line {len(lines) - 2}: not a row"),
        # Rows missing, the marker kept.
        "rows dropped": ("".join(lines[:2] + lines[4:]), "rows where its end marker says"),
    }
    for name, (text, said) in cut.items():
        path = tmp_path / "cut.jsonl"
        path.write_text(text)
        line = one_line_error(manage(test_database_url, "import_tenant", "--input", str(path)))
        assert said in line and "nothing imported" in line, (name, line)
        assert not Tenant.objects.filter(pk=tenant.pk).exists(), name
    restored = manage(test_database_url, "import_tenant", "--input", str(backup))
    assert restored.returncode == 0, restored.stderr
    with tenant_scope(Tenant.objects.get(pk=tenant.pk)):
        assert project.tasks.model.unscoped.filter(tenant_id=tenant.pk).count() == 6
    os.unlink(backup)


def test_deleting_a_tenant_removes_its_customer_exports(
    committed_db, test_database_url, django_capture_on_commit_callbacks
):
    from jobs.services import job_start
    from tenants.residency import export_dir

    sub = unique_subdomain("exp")
    assert _create(test_database_url, sub).returncode == 0
    tenant = Tenant.objects.get(subdomain=sub)
    with django_capture_on_commit_callbacks(execute=True):  # the job runs (eager, in process)
        job_start(kind="tenant_export", tenant=tenant, params={}, requested_by="test")
    folder = export_dir(tenant.region) / str(tenant.pk)
    files = list(folder.glob("*.jsonl"))
    assert files and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    deleted = manage(test_database_url, "delete_tenant", sub, "--yes", "--no-backup")
    assert deleted.returncode == 0, deleted.stderr
    assert not folder.exists()


def test_a_tenant_deleted_while_suspended_comes_back_suspended(committed_db, test_database_url):
    sub = unique_subdomain("backsus")
    assert _create(test_database_url, sub).returncode == 0
    suspended = manage(test_database_url, "suspend_tenant", sub, "--reason", "unpaid since May")
    assert suspended.returncode == 0, suspended.stderr
    host = f"{sub}.{settings.BASE_DOMAIN}"
    with LiveServer(test_database_url) as server:
        suspended_page = http("GET", f"{server.url}/accounts/login/", host)[0]
    assert suspended_page not in (200, 404)

    deleted = manage(test_database_url, "delete_tenant", sub, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    backup = re.search(r"operator backup: (\S+) \(", deleted.stdout).group(1)
    restored = manage(test_database_url, "import_tenant", "--input", backup)
    assert restored.returncode == 0, restored.stderr
    assert f"{sub} is suspended, as it was when it was deleted" in restored.stdout
    back = Tenant.objects.get(subdomain=sub)
    assert (back.status, back.status_reason) == ("suspended", "unpaid since May")
    with LiveServer(test_database_url) as server:
        assert http("GET", f"{server.url}/accounts/login/", host)[0] == suspended_page
        assert manage(test_database_url, "reactivate_tenant", sub).returncode == 0
        assert http("GET", f"{server.url}/accounts/login/", host)[0] == 200
    os.unlink(backup)
