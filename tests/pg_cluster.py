"""Extra PostgreSQL clusters for placement tests: initdb on a free port, stopped afterwards."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from saas import embedded
from tenants.database_config import split_credentials
from tenants.models import DatabaseServer


@contextmanager
def pg_cluster(django_db_blocker, prefix: str = "extra-pg-"):
    """Yield the admin URL of a fresh cluster; stop and remove it after.

    Registry rows naming it are deactivated on exit (`django_db_blocker`: the
    fixture's), so no later placement (the least-loaded rule) picks a server
    that no longer runs.
    """
    if embedded._bindir() is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are needed for this test")
    with embedded.extra_cluster(prefix) as url:
        try:
            yield url
        finally:
            with django_db_blocker.unblock():
                DatabaseServer.objects.using("operator").filter(
                    address=split_credentials(url)[0]
                ).update(is_active=False)
