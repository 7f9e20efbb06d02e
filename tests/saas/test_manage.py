"""`manage.py` from a fresh shell: its own venv, the embedded database, one-line errors, quiet output."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.shell import ROOT, fresh_database, fresh_env, run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runs_without_an_activated_venv(test_database_url):
    result = run("python3 manage.py check", fresh_env(DATABASE_URL=test_database_url))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_finds_the_embedded_database_when_database_url_is_unset(tmp_path, test_database_url):
    # A started embedded server leaves its URL in <dir>/url; point one at this test database.
    (tmp_path / "url").write_text(test_database_url)
    result = run("./manage.py list_tenants", fresh_env(EMBEDDED_PG_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SUBDOMAIN")


def test_unreachable_database_is_one_line(tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/nowhere"
    result = run("./manage.py list_tenants", fresh_env(DATABASE_URL=url))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: database unavailable:")


def test_missing_database_says_to_migrate(test_database_url):
    with fresh_database("never") as url:
        result = run("./manage.py list_tenants", fresh_env(DATABASE_URL=url))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "run `manage.py migrate` first" in result.stderr


@pytest.mark.slow
def test_first_start_and_operator_commands_are_quiet(tmp_path, test_database_url):
    """A first migrate and the commands an operator runs print their result, no warnings."""
    log = tmp_path / "security.log"
    with fresh_database("first") as url:
        env = fresh_env(DATABASE_URL=url, SECURITY_LOG=str(log))
        steps = [
            "./manage.py migrate --noinput -v 0",
            "./manage.py seed_demo",
            "./manage.py create_tenant --name Acme --subdomain acme --plan pro",
            "./manage.py change_plan acme enterprise",
            "./manage.py delete_tenant acme --yes --no-export",
        ]
        for step in steps:
            result = run(step, env)
            assert result.returncode == 0, (step, result.stdout, result.stderr)
            assert result.stderr == "", (step, result.stderr)
            for noise in ("W001", "does not exist", "No hostname", "RLS bypass", "INFO"):
                assert noise not in result.stdout, (step, result.stdout)
    assert "RLS bypass opened: deleting tenant acme" in log.read_text()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def checkout():
    """A checkout of its own (symlinks to this one, but its own .data/ and artifacts/).

    Under the repository, not /tmp: as root the embedded server runs as `postgres`, which
    must reach the directory.
    """
    (ROOT / ".data").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="checkout-", dir=ROOT / ".data"))
    path.chmod(0o755)
    for entry in ROOT.iterdir():
        if entry.name not in {".data", "artifacts", ".git"}:
            (path / entry.name).symlink_to(entry)
    yield path
    # Whatever the test left running goes, even when the test failed half-way.
    run(
        f"{ROOT}/.venv/bin/python -m saas.embedded stop",
        fresh_env(EMBEDDED_PG_DIR=str(path / ".data" / "postgres")),
    )
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_starts_the_embedded_database_and_make_clean_stops_it(checkout):
    """`make run`'s database comes from manage.py; `make clean` leaves no cluster or server behind."""
    data = checkout / ".data" / "postgres"
    env = fresh_env(EMBEDDED_PG_DIR=str(data))
    result = run(f"cd {checkout} && ./manage.py migrate --noinput -v 0", env)
    assert result.returncode == 0, result.stderr
    assert "started the embedded PostgreSQL" in result.stderr
    port = int((data / "port").read_text())
    assert _port_open(port)
    # The next command finds the running server: nothing started, nothing said.
    again = run(f"cd {checkout} && ./manage.py list_tenants", env)
    assert (again.returncode, again.stderr) == (0, "")

    clean = run(f"cd {checkout} && make clean", env)
    assert clean.returncode == 0, clean.stderr
    assert not _port_open(port)
    assert not (checkout / ".data").exists()
    servers = run(f"pgrep -f -- '-D {data}/pgdat[a]' || true", env).stdout.split()
    assert servers == []


@pytest.mark.slow
def test_first_make_run_is_quiet_and_make_clean_leaves_nothing(checkout):
    """A new clone's `make run`: no warning before it serves; `make clean` stops everything."""
    data = checkout / ".data" / "postgres"
    env = fresh_env(EMBEDDED_PG_DIR=str(data))
    port = _free_port()
    # -o install: the shared virtualenv is installed already; do not touch it.
    server = subprocess.Popen(
        ["make", "-o", "install", "run", f"PORT={port}"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not _port_open(port):
            assert server.poll() is None, "".join(output) + server.stdout.read()
            time.sleep(0.5)
        assert _port_open(port), "make run did not serve"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output.append(server.communicate(timeout=30)[0])
    text = "".join(output)
    assert "Serving http://demo.localhost:" in text
    before_serving = text.split("Serving http://demo.localhost:")[0]
    for noise in ("WARNING", "W001", "does not exist", "Traceback"):
        assert noise not in before_serving, text
    pg_port = int((data / "port").read_text())
    assert _port_open(pg_port)

    clean = run(f"cd {checkout} && make clean", env)
    assert clean.returncode == 0, clean.stderr
    assert not _port_open(pg_port)
    assert not (checkout / ".data").exists()
    assert run(f"pgrep -f -- '-D {data}/pgdat[a]' || true", env).stdout.split() == []


def test_without_a_virtualenv_it_says_to_install(tmp_path):
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")  # a clone before `make install`
    result = run(f"cd {tmp_path} && python3 manage.py check", fresh_env())
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: Django is not installed: run `make install` (creates .venv) first"
    )


@pytest.mark.slow
def test_a_server_on_a_stopped_clusters_port_is_not_taken_for_it(checkout, test_database_url):
    """Two checkouts on one host: this one's cluster is stopped (a reboot, a crash) and its
    URL file names a port another server answers on now. manage.py must start this
    checkout's own cluster, never run commands against the other one's databases."""
    data = checkout / ".data" / "postgres"
    env = fresh_env(EMBEDDED_PG_DIR=str(data))
    started = run(f"cd {checkout} && .venv/bin/python -m saas.embedded start", env)
    assert started.returncode == 0, started.stderr
    stopped = run(f"cd {checkout} && .venv/bin/python -m saas.embedded stop", env)
    assert stopped.returncode == 0, stopped.stderr
    # The URL its last start wrote, now answered by another server (here: the test database's).
    (data / "url").write_text(test_database_url)

    result = run(f"cd {checkout} && ./manage.py list_tenants", env)
    # Before the fix: the other server's tenants, listed as this checkout's (exit 0).
    assert not result.stdout.startswith("SUBDOMAIN"), result.stdout
    assert "started the embedded PostgreSQL" in result.stderr
    assert (data / "url").read_text() != test_database_url
