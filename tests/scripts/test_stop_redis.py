"""The redis-server that test-env.sh starts for `make test` is stopped again, and only that one."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.live import ROOT, free_port


def _alive(pid: int) -> bool:
    return (
        Path(f"/proc/{pid}").exists()
        and b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )


def _wait(predicate, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_stops_the_redis_its_pidfile_names_and_nothing_else(tmp_path):
    binary = shutil.which("redis-server") or "/usr/sbin/redis-server"
    if not Path(binary).exists():
        pytest.fail("redis-server is missing: run `make system-deps`")
    pidfile = tmp_path / "redis.pid"
    subprocess.run(
        [binary, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(free_port()),
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path), "--pidfile", str(pidfile)],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    assert _wait(lambda: pidfile.exists() and pidfile.read_text().strip())
    pid = int(pidfile.read_text())
    assert _alive(pid)
    # Sourced as `make test` does, with test-env.sh's variable; then as `make clean` runs it.
    script = f"export TEST_REDIS_STARTED={pidfile}; source scripts/stop-redis.sh"
    subprocess.run(["bash", "-c", script], cwd=ROOT, check=True)
    assert _wait(lambda: not _alive(pid)) and not pidfile.exists()
    # Without a pidfile (Redis was running before the tests) nothing is stopped.
    assert subprocess.run(["bash", "scripts/stop-redis.sh"], cwd=ROOT).returncode == 0
