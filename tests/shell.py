"""A newcomer's fresh shell: no activated venv, no Django settings, a database of its own."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from django.conf import settings

from tenants.database_config import admin_conninfo

ROOT = Path(__file__).resolve().parent.parent


def fresh_env(**extra: str) -> dict[str, str]:
    """The environment of a new login shell: system PATH only (no .venv), nothing exported.

    Except where tenant data goes (MEDIA_ROOT, TENANT_BACKUP_DIR): the test worker's own.
    """
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    # Where commands write tenant data (exports, operator backups): this test worker's
    # directories, removed when the test session ends, never the checkout's media/ or .data/.
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["TENANT_BACKUP_DIR"] = str(settings.TENANT_BACKUP_DIR)
    if "DATABASE_URL" in extra:
        # Naming a database server is configuring a deployment, which brings its own
        # SECRET_KEY (the embedded default generates one in .data/).
        env["SECRET_KEY"] = "fresh-shell-" + uuid.uuid4().hex
    env.update(extra)
    return env


def run(cmd: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", cmd],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _admin(dbname: str = "postgres"):
    return psycopg.connect(admin_conninfo(settings.DATABASE_URL, dbname), autocommit=True)


@contextlib.contextmanager
def fresh_database(prefix: str = "fresh") -> Iterator[str]:
    """A DATABASE_URL naming a database that does not exist yet; it and its tenants' are dropped."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    base = settings.DATABASE_URL.rpartition("/")[0]
    try:
        yield f"{base}/{name}"
    finally:
        drop_database_and_placements(name)


def drop_database_and_placements(name: str) -> None:
    """Drop database `name`, the tenant databases its registry names, and `<name>_*`.

    Tenant databases are named `<name>_t_<hex>`, provisioned or moved; the registry is read
    too, for any database it names otherwise (an older deployment's names).
    """
    placed: set[str] = set()
    with contextlib.suppress(psycopg.Error), _admin(name) as c:
        for table, columns in (
            ("tenants_tenant", ["database_name"]),
            ("tenants_tenantmove", ["source_database_name", "target_database_name"]),
        ):
            for column in columns:
                placed.update(r[0] for r in c.execute(f"SELECT {column} FROM {table}") if r[0])
    with _admin() as c:
        pattern = name.replace("_", "\\_") + "\\_%"
        placed.update(
            r[0]
            for r in c.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pattern])
        )
        for db in [*placed, name]:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
