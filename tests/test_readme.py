"""The README, executed: its shell blocks in order, from a fresh shell, on a fresh database.

Fresh shell: system PATH, no activated venv, no DATABASE_URL, no Django settings. Fresh
database: an embedded-style `.data/postgres/url` (EMBEDDED_PG_DIR) naming a database that does
not exist yet, as after `make run` on a new clone; it and every tenant database the README's
commands create are dropped afterwards.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.shell import ROOT, fresh_database, fresh_env, run

pytestmark = pytest.mark.slow

BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
# Blocks not executed, and why. Each such block must consist of that one command.
NOT_RUN = {
    "make run": (
        "serves until stopped; the test does what it does first (migrate, seed_demo) and serves "
        "the same application with gunicorn on a free port (8000 may be taken), URLs rewritten"
    ),
    "SECRET_KEY=$(openssl rand -hex 32) docker compose up --build": (
        "needs a Docker engine; tests/jobs/test_compose.py validates docker-compose.yml"
    ),
}


def readme_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def _commands(block: str) -> list[str]:
    lines = [ln.split("  #", 1)[0].strip() for ln in block.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def test_every_block_is_run_or_named():
    for block in readme_blocks():
        commands = _commands(block)
        skipped = [c for c in commands if c in NOT_RUN]
        assert not skipped or commands == skipped, block


def test_readme_commands_work_as_written(tmp_path: Path):
    blocks = readme_blocks()
    assert len(blocks) >= 5
    embedded = tmp_path / "postgres"
    embedded.mkdir()
    with fresh_database("readme") as url:
        (embedded / "url").write_text(url)
        env = fresh_env(EMBEDDED_PG_DIR=str(embedded))
        first = blocks[0]
        assert _commands(first) == ["make run"], first
        # What `make run` does before it serves (see the Makefile's run target).
        for step in ("./manage.py migrate --noinput -v 0", "./manage.py seed_demo"):
            result = run(step, env)
            assert result.returncode == 0, (step, result.stdout, result.stderr)
        server_env = {"DJANGO_SETTINGS_MODULE": "saas.settings.base", "DEBUG": "1"}
        with LiveServer(url, extra_env=server_env) as server:
            for block in blocks[1:]:
                if _commands(block)[0] in NOT_RUN:
                    continue
                script = block.replace("localhost:8000", f"localhost:{server.port}")
                result = run(f"set -euo pipefail\n{script}", env)
                assert result.returncode == 0, (block, result.stdout, result.stderr)
                assert "Traceback" not in result.stderr, (block, result.stderr)
