"""A test session leaves nothing behind: no database, no file of tenant data, no process.

Runs a small test session of its own in another process (moves into their own databases,
delete and restore through commands, a live server, an export), as `make test` runs the
whole suite, then looks for what that session created: databases (by oid: created after it
started), its media and backup directories, processes carrying its worker name, its keys in
the shared test Redis.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tenants.database_config import admin_conninfo
from tests.shell import ROOT

pytestmark = pytest.mark.slow

SESSION = [
    "tests/tenants/test_move.py::test_move_between_every_pair_of_modes",
    "tests/tenants/test_move.py::test_keep_source_leaves_the_old_copy",
    "tests/tenants/test_move.py::test_interrupted_move_can_be_rolled_back",
    "tests/tenants/test_delete_restore.py::test_delete_then_import_brings_the_tenant_back",
    "tests/jobs/test_jobs.py::test_admin_starts_lists_and_downloads_an_export",
    "tests/jobs/test_worker.py::test_export_job_on_a_worker_writes_exactly_the_tenants_rows",
]


def _admin():
    return psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True)


def _processes_of(worker: str) -> list[str]:
    marker = f"PYTEST_XDIST_WORKER={worker}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()[:120]!r}")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def test_a_test_session_leaves_no_database_file_or_process(committed_db):
    worker = f"leak{uuid.uuid4().hex[:6]}"
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    checkout = hashlib.sha1(str(settings.BASE_DIR).encode()).hexdigest()[:6]
    main = f"test_{base}_{checkout}_{worker}"
    with _admin() as c:
        (before,) = c.execute("SELECT max(oid::bigint) FROM pg_database").fetchone()

    env = dict(os.environ, PYTEST_XDIST_WORKER=worker)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:randomly", "-q", *SESSION],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

    with _admin() as c:
        created = [
            name
            for (name,) in c.execute(
                "SELECT datname FROM pg_database WHERE oid::bigint > %s", [before]
            )
        ]
    # Other sessions run on this server meanwhile: theirs are named after their own test
    # database. What this session made is named after its database, or a tenant database.
    leaked = [n for n in created if n.startswith((main, "tenant_"))]
    assert leaked == [], leaked
    tag = f"{checkout}-{worker}"
    for directory in (ROOT / "artifacts" / "media" / tag, ROOT / "artifacts" / "backups" / tag):
        assert not directory.exists(), sorted(p.name for p in directory.rglob("*"))[:10]
    assert _processes_of(worker) == []
    if redis_url := os.environ.get("TEST_REDIS_URL"):
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = [*client.scan_iter(match=f"test-{tag}:*"), *client.scan_iter(match=f"*:{tag}:*")]
        assert keys == [], keys[:10]
