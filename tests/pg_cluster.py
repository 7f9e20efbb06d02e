"""Extra PostgreSQL clusters for placement tests: initdb on a free port, stopped afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager

import pytest

from saas import embedded
from tenants.models import DatabaseServer
from tests.live import free_port


@contextmanager
def pg_cluster(django_db_blocker, prefix: str = "extra-pg-"):
    """Yield the admin URL of a fresh cluster; stop and remove it after.

    Registry rows naming it are deactivated on exit (`django_db_blocker`: the
    fixture's), so no later placement (the least-loaded rule) picks a server
    that no longer runs.
    """
    bindir = embedded._bindir()
    if bindir is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are needed for this test")
    workdir = tempfile.mkdtemp(prefix=prefix)
    os.chmod(workdir, 0o755)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    run = embedded._as_pg_user()
    port = free_port()
    subprocess.run(
        [
            *run,
            str(bindir / "initdb"),
            "-D",
            f"{workdir}/data",
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [
            *run,
            str(bindir / "pg_ctl"),
            "-D",
            f"{workdir}/data",
            "-w",
            "-l",
            f"{workdir}/log",
            "-o",
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        yield url
    finally:
        with django_db_blocker.unblock():
            DatabaseServer.objects.using("operator").filter(url=url).update(is_active=False)
        subprocess.run(
            [*run, str(bindir / "pg_ctl"), "-D", f"{workdir}/data", "-m", "immediate", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(workdir, ignore_errors=True)
