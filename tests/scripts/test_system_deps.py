"""`scripts/system-deps.sh` installs only what it names, says why, and waits for the dpkg lock."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_installs_only_the_named_packages_and_waits_for_the_lock(tmp_path):
    log = tmp_path / "apt.log"
    # A machine without the tools: PATH holds only stubs (apt-get records its arguments).
    (tmp_path / "apt-get").write_text(f'#!/bin/bash\necho "$@" >> {log}\n')
    (tmp_path / "id").write_text("#!/bin/bash\necho 0\n")
    for stub in ("apt-get", "id"):
        (tmp_path / stub).chmod(0o755)
    result = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "system-deps.sh")],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    update, install = log.read_text().splitlines()
    assert "DPkg::Lock::Timeout=120" in update
    assert "DPkg::Lock::Timeout=120" in install
    assert "--no-install-recommends" in install
    installed = install.split("--no-install-recommends", 1)[1].split()
    assert {"chromium", "redis-server", "docker-compose", "wrk"} <= set(installed)
    for pkg in installed:
        line = next(ln for ln in result.stdout.splitlines() if ln.split()[:1] == [pkg])
        assert "make test" in line or "make bench" in line
