"""Run a management command as the operator would: a subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.live import ROOT


def manage(database_url: str, *args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=database_url, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The command failed with exactly one line on stderr (no traceback); that line."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]
