"""`export_tenant --output FILE` writes the customer export like the backup: a new 0600 file."""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.tenants.manage import manage, one_line_error

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", [[], ["--backup"]])
def test_an_export_file_is_private_and_never_written_through_an_existing_path(
    committed_db, test_database_url, tmp_path, kind
):
    tenant = TenantFactory(subdomain=unique_subdomain("expfile"))
    UserFactory(tenant=tenant, email="person@expfile.test", role="owner")
    path = tmp_path / "export.jsonl"
    # The command as an operator runs it, with the usual umask (files 0644 by default).
    result = manage(
        test_database_url, "export_tenant", tenant.subdomain, "--output", str(path), *kind
    )
    assert result.returncode == 0, result.stderr
    assert "person@expfile.test" in path.read_text()  # the tenant's personal data
    # Before the fix the customer export was 0644: readable by every user of the host.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # A path that exists (a file, or a link somebody prepared) is refused, never followed.
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    link = tmp_path / "link.jsonl"
    os.symlink(target, link)
    for existing in (path, link):
        again = manage(
            test_database_url, "export_tenant", tenant.subdomain, "--output", str(existing), *kind
        )
        assert "exists; choose another --output" in one_line_error(again)
    assert target.read_text() == "keep me"
