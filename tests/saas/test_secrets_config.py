"""Secrets configuration: no public SECRET_KEY outside DEBUG; role passwords not derived from it."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import subprocess
import sys

import pytest

from tests.live import ROOT

PRINT_ROLE_PASSWORDS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['PASSWORD'], s.DATABASES['operator']['PASSWORD'])"
)


def _env(**changes) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DB_ROLE_SECRET", "DB_ROLE_SECRET_FILE"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "saas.settings.base"
    env.update(changes)
    return env


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# A configured deployment: a database of its own, not the checkout's embedded one (with
# which `make test` runs when DATABASE_URL is unset, and which counts as local development).
DEPLOYED_DB = "postgresql://saas@db.deployment.invalid:5432/saas"


def test_refuses_to_start_without_secret_key_outside_debug():
    result = _run(["manage.py", "check"], _env(DATABASE_URL=DEPLOYED_DB))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY is not set" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_secret_key_is_not_a_key(value):
    result = _run(["manage.py", "check"], _env(SECRET_KEY=value, DATABASE_URL=DEPLOYED_DB))
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_debug_starts_without_secret_key_and_with_no_public_one(tmp_path):
    key_file = tmp_path / "secret-key"
    result = _run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SECRET_KEY)",
        ],
        _env(DEBUG="1", DB_ROLE_SECRET_FILE=str(tmp_path / "s"), SECRET_KEY_FILE=str(key_file)),
    )
    assert result.returncode == 0, result.stderr
    # A key generated for this checkout, private to it: never a string anyone can read.
    assert result.stdout.strip() == key_file.read_text().strip()
    assert len(result.stdout.strip()) == 64
    assert key_file.stat().st_mode & 0o777 == 0o600


def _passwords(**env) -> list[str]:
    result = _run(["-c", PRINT_ROLE_PASSWORDS], _env(**env))
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_role_passwords_are_independent_of_secret_key(tmp_path):
    secret_file = str(tmp_path / "role-secret")
    one = _passwords(SECRET_KEY="key-one", DB_ROLE_SECRET="roles-1")
    other_key = _passwords(SECRET_KEY="key-two", DB_ROLE_SECRET="roles-1")
    other_secret = _passwords(SECRET_KEY="key-one", DB_ROLE_SECRET="roles-2")
    assert one == other_key  # changing SECRET_KEY changes no database password
    assert one != other_secret
    # The public development key yields nothing an attacker can compute.
    public = "dev-insecure-" + "x" * 40  # the public key of the first round
    derived = hmac.new(public.encode(), b"db-role:saas_operator", hashlib.sha256).hexdigest()
    generated = _passwords(DEBUG="1", DB_ROLE_SECRET_FILE=secret_file)
    assert derived[:40] not in generated + one
    assert hmac.new(b"key-one", b"db-role:saas_operator", hashlib.sha256).hexdigest()[:40] != one[1]


def test_generated_role_secret_is_private_and_stable(tmp_path):
    secret_file = tmp_path / "data" / "role-secret"
    first = _passwords(SECRET_KEY="a", DB_ROLE_SECRET_FILE=str(secret_file))
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(secret_file.read_text().strip()) == 64
    again = _passwords(SECRET_KEY="b", DB_ROLE_SECRET_FILE=str(secret_file))
    assert first == again
    elsewhere = _passwords(SECRET_KEY="a", DB_ROLE_SECRET_FILE=str(tmp_path / "other"))
    assert elsewhere != first
