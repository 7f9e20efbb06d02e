"""docker-compose.yml is valid and every service runs a command this project has."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml
from django.core.management import get_commands

from tests.live import ROOT


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        # Debian's docker-compose (v1) validates a file without a Docker engine.
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            [*sudo, "apt-get", "install", "-y", "-qq", "docker-compose"], check=True, env=env
        )
        found = shutil.which("docker-compose")
    assert found, "docker-compose could not be installed"
    return found


@pytest.fixture(scope="module")
def compose() -> dict:
    env = dict(os.environ, SECRET_KEY="compose-test-key", DB_ROLE_SECRET="compose-role-secret")
    result = subprocess.run(
        [_docker_compose(), "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_has_the_services_wired_by_environment(compose):
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("migrate", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgresql://") and "@postgres:" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["SECRET_KEY"] == "compose-test-key"
        assert env["DB_ROLE_SECRET"] == "compose-role-secret"
        assert "BASE_DOMAIN" in env
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DB_ROLE_SECRET"])
def test_secrets_are_required(missing):
    env = dict(os.environ, SECRET_KEY="k", DB_ROLE_SECRET="r")
    del env[missing]
    result = subprocess.run(
        [_docker_compose(), "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and missing in result.stderr


def _module_file(module: str):
    path = ROOT / module.replace(".", "/")
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"


def test_every_service_command_exists_in_the_project(compose):
    commands = get_commands()
    requirements = (ROOT / "requirements.txt").read_text().lower()
    for name, service in compose["services"].items():
        command = service.get("command")
        if "build" not in service:
            assert service["image"].split(":")[0] in {"postgres", "redis"}, name
            continue
        assert (ROOT / "Dockerfile").exists()
        program = command[0]
        if program == "python":
            assert command[1] == "manage.py" and (ROOT / "manage.py").exists()
            assert command[2] in commands, f"{name}: no management command {command[2]}"
        elif program == "gunicorn":
            assert "gunicorn==" in requirements
            module, _, attr = command[1].partition(":")
            assert _module_file(module).exists(), f"{name}: {module} missing"
            import importlib

            assert callable(getattr(importlib.import_module(module), attr))
        elif program == "celery":
            assert "celery" in requirements
            assert command[1:3] == ["-A", "saas"] and (ROOT / "saas" / "celery.py").exists()
            assert command[3] in {"worker", "beat"}
        else:
            pytest.fail(f"{name}: unexpected command {command}")


def test_web_runs_the_recommended_server_within_its_connection_bound(compose):
    """gunicorn gthread; its pool is no larger than its threads (docs/operations.md)."""
    web = compose["services"]["web"]
    command = web["command"]
    assert command[:2] == ["gunicorn", "saas.wsgi:application"]
    assert command[command.index("--worker-class") + 1] == "gthread"
    threads = int(command[command.index("--threads") + 1])
    assert 1 <= int(web["environment"]["DB_POOL_MAX_SIZE"]) <= threads
