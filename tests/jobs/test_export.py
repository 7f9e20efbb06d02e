"""tenant_export / tenant_import: exactly one tenant's rows, in FK order; backups restore exactly."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.invitations import invitation_create
from accounts.services import token_create
from audit.services import audit_record
from tenants.context import tenant_scope
from tenants.export import BACKUP, ImportRefused, tenant_export, tenant_import, tenant_models
from tests.factories import ProjectFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _populate(tenant, tag):
    owner = UserFactory(tenant=tenant, email=f"owner-{tag}@example.com", role="owner")
    project = ProjectFactory(tenant=tenant, name=f"{tag}-project", created_by=owner)
    TaskFactory(tenant=tenant, project=project, title=f"{tag}-task", assignee=owner)
    TaskFactory(tenant=tenant, project=project, title=f"{tag}-task-2")
    with tenant_scope(tenant):
        invitation_create(tenant=tenant, email=f"new-{tag}@example.com", invited_by=owner)
        token_create(tenant=tenant, name=f"{tag}-token", scopes=["read"], created_by=owner)
        audit_record(tenant=tenant, actor=owner, action="test.event", data={"tag": tag})


def _snapshot(tenant) -> dict[str, list]:
    """Every row of `tenant` an operator backup holds, as comparable dicts."""
    from django.forms.models import model_to_dict

    snap = {}
    with tenant_scope(tenant):
        for model in tenant_models():
            if not model.in_operator_backup:  # sessions, the outbox: never restored
                continue
            rows = model.unscoped.filter(tenant_id=tenant.pk).order_by("pk")
            snap[model._meta.label] = [
                {**model_to_dict(o), "pk": o.pk, "tenant_id": o.tenant_id}
                | {f.name: getattr(o, f.attname) for f in model._meta.concrete_fields}
                for o in rows
            ]
    return snap


def _delete_all(tenant):
    with tenant_scope(tenant):
        for model in reversed(tenant_models()):
            model.unscoped.filter(tenant_id=tenant.pk).delete()


def test_models_are_discovered_in_foreign_key_order():
    labels = [m._meta.label for m in tenant_models()]
    for label in ("accounts.User", "projects.Project", "projects.Task", "audit.AuditEvent"):
        assert label in labels
    assert labels.index("accounts.User") < labels.index("projects.Project")
    assert labels.index("projects.Project") < labels.index("projects.Task")
    assert labels.index("accounts.User") < labels.index("accounts.Invitation")


def test_export_holds_exactly_the_tenants_rows(tenant_a, tenant_b):
    _populate(tenant_a, "alpha")
    _populate(tenant_b, "beta")
    out = io.StringIO()
    counts = tenant_export(tenant=tenant_a, stream=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    header, rows = lines[0], lines[1:]
    assert header["tenant"] == str(tenant_a.pk)
    assert {r["fields"]["tenant_id"] for r in rows} == {str(tenant_a.pk)}
    assert counts["projects.Task"] == 2 and counts["accounts.User"] == 1
    assert sum(counts.values()) == len(rows)
    assert "beta" not in out.getvalue()


def test_round_trip_restores_every_row_exactly(tenant_a, tenant_b):
    _populate(tenant_a, "alpha")
    _populate(tenant_b, "beta")
    before_a, before_b = _snapshot(tenant_a), _snapshot(tenant_b)
    out = io.StringIO()
    exported = tenant_export(tenant=tenant_a, stream=out, kind=BACKUP)

    _delete_all(tenant_a)
    assert all(rows == [] for rows in _snapshot(tenant_a).values())

    imported = tenant_import(tenant=tenant_a, stream=io.StringIO(out.getvalue()), full=True)
    assert {k: v for k, v in imported.items() if v} == {k: v for k, v in exported.items() if v}
    assert _snapshot(tenant_a) == before_a
    assert _snapshot(tenant_b) == before_b


def test_import_refuses_another_tenants_export_and_writes_nothing(tenant_a, tenant_b):
    _populate(tenant_b, "beta")
    out = io.StringIO()
    tenant_export(tenant=tenant_b, stream=out, kind=BACKUP)
    with pytest.raises(ImportRefused, match="another tenant"):
        tenant_import(tenant=tenant_a, stream=io.StringIO(out.getvalue()))
    assert all(rows == [] for rows in _snapshot(tenant_a).values())


def test_import_refuses_a_forged_row_of_another_tenant(tenant_a, tenant_b):
    _populate(tenant_a, "alpha")
    out = io.StringIO()
    tenant_export(tenant=tenant_a, stream=out, kind=BACKUP)
    _delete_all(tenant_a)
    lines = out.getvalue().splitlines()
    forged = json.loads(lines[-2])  # the last row (the last line is the end marker)
    forged["fields"]["tenant_id"] = str(tenant_b.pk)
    lines.insert(-1, json.dumps(forged))
    with pytest.raises(ImportRefused, match="another tenant"):
        tenant_import(tenant=tenant_a, stream=io.StringIO("\n".join(lines)))
    # All or nothing: the valid rows before the forged one were rolled back too.
    assert all(rows == [] for rows in _snapshot(tenant_a).values())
    assert all(rows == [] for rows in _snapshot(tenant_b).values())


def test_export_tenant_and_import_tenant_commands(tenant_a, tmp_path):
    _populate(tenant_a, "alpha")
    before = _snapshot(tenant_a)
    path = tmp_path / "a.jsonl"
    call_command("export_tenant", tenant_a.subdomain, output=str(path), backup=True)
    # The header, the rows, the end marker.
    assert len(path.read_text().splitlines()) == 2 + sum(len(v) for v in before.values())
    _delete_all(tenant_a)
    call_command("import_tenant", tenant_a.subdomain, input=str(path), full=True)
    assert _snapshot(tenant_a) == before


def test_export_tenant_command_unknown_subdomain(tmp_path):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("export_tenant", "no-such-tenant", output=str(tmp_path / "x"))


def test_import_over_existing_rows_restores_their_exported_values(tenant_a):
    _populate(tenant_a, "alpha")
    before = _snapshot(tenant_a)
    out = io.StringIO()
    tenant_export(tenant=tenant_a, stream=out, kind=BACKUP)
    with tenant_scope(tenant_a):
        from projects.models import Project

        Project.objects.update(name="changed after the export")
    tenant_import(tenant=tenant_a, stream=io.StringIO(out.getvalue()))
    assert _snapshot(tenant_a) == before


@pytest.mark.slow
def test_round_trip_in_every_isolation_mode(committed_db, mode):
    from tests.conftest import make_tenant

    tenant, other = make_tenant(mode, f"exp-{mode[:2]}"), make_tenant(mode, f"oth-{mode[:2]}")
    _populate(tenant, f"{mode}-mine")
    _populate(other, f"{mode}-other")
    before, before_other = _snapshot(tenant), _snapshot(other)
    out = io.StringIO()
    tenant_export(tenant=tenant, stream=out, kind=BACKUP)
    assert f"{mode}-other" not in out.getvalue()
    _delete_all(tenant)
    assert all(rows == [] for rows in _snapshot(tenant).values())
    tenant_import(tenant=tenant, stream=io.StringIO(out.getvalue()), full=True)
    assert _snapshot(tenant) == before
    assert _snapshot(other) == before_other
