"""What operator commands print: progress per placement on stderr, result tables on stdout."""

from __future__ import annotations

import io

from django.core.management import call_command

from tenants.management.progress import Progress, table
from tests.conftest import make_tenant
from tests.factories import ProjectFactory
from tests.tenants.test_placements import regress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_counter_on_a_terminal_and_lines_otherwise():
    tty, log = _Terminal(), io.StringIO()
    for stream in (tty, log):
        progress = Progress(stream, label="job")
        progress.count(1, 2, "alpha")
        progress.count(2, 2, "beta")
        progress.close()
    assert tty.getvalue() == "\r\x1b[Kjob [1/2] alpha\r\x1b[Kjob [2/2] beta\n"
    assert log.getvalue() == "job [1/2] alpha\njob [2/2] beta\n"


def test_table_aligns_text_left_and_numbers_right():
    assert table(("NAME", "ROWS"), [("a", 5), ("bbbb", 12)]) == [
        "NAME  ROWS",
        "a        5",
        "bbbb    12",
    ]


def test_migrate_tenants_reports_each_placement(committed_db):
    lagging = make_tenant("schema", "out-s")
    current = make_tenant("database", "out-d")
    regress(lagging)
    out, err = io.StringIO(), io.StringIO()
    call_command("migrate_tenants", "--skip-pooled", stdout=out, stderr=err)

    rows = {line.split()[0]: line.split() for line in out.getvalue().splitlines()}
    assert rows["SUBDOMAIN"] == ["SUBDOMAIN", "MODE", "APPLIED", "RESULT"]
    assert rows[lagging.subdomain][1] == "schema"
    assert rows[lagging.subdomain][3] == "migrated" and int(rows[lagging.subdomain][2]) > 0
    assert rows[current.subdomain][1:] == ["database", "0", "current"]
    progress = err.getvalue().splitlines()
    total = len(progress)
    assert progress[-1].startswith(f"migrate_tenants [{total}/{total}] ")
    assert any(f"{lagging.subdomain} (schema): migrated" in line for line in progress)


def test_move_tenant_shows_progress_and_rows_per_table(committed_db):
    tenant = make_tenant("shared", "out-mv")
    ProjectFactory(tenant=tenant)
    out, err = io.StringIO(), io.StringIO()
    call_command("move_tenant", tenant.subdomain, "--to", "schema", stdout=out, stderr=err)

    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["TABLE", "ROWS"]
    assert "projects_project 1" in [" ".join(line.split()) for line in lines]
    assert lines[-1].startswith(f"{tenant.subdomain}: shared on main → schema on main: done")
    assert "write pause" in lines[-1]
    steps = err.getvalue().splitlines()
    assert steps[0].startswith(f"move_tenant {tenant.subdomain} [  3%]")
    assert steps[-1] == f"move_tenant {tenant.subdomain} [100%] done"


def test_list_tenants_text_shows_region_and_server(committed_db):
    tenant = make_tenant("database", "out-ls")
    out = io.StringIO()
    call_command("list_tenants", "--no-counts", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:6] == ["SUBDOMAIN", "MODE", "PLAN", "STATUS", "REGION", "SERVER"]
    row = next(line.split() for line in lines if line.startswith(tenant.subdomain + " "))
    assert row[4:6] == [tenant.region, tenant.database_server.name]
