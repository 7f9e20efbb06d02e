#!/usr/bin/env python3
"""Django's command-line utility; runs from a fresh shell: no activated venv, no DATABASE_URL needed.

Without Django on the path it re-executes itself with the project's `.venv/bin/python`; without
DATABASE_URL it finds (or starts) the embedded PostgreSQL in `.data/`. What goes wrong before
the command runs is said in one line, not a traceback (`--traceback` shows it).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
# Commands that neither need a database nor should start one.
NO_DATABASE = {"help", "--help", "-h", "version", "--version", "makemigrations", "startapp"}
# Long-running servers log at INFO; one-shot commands print their result, not the log chatter.
SERVERS = {"runserver", "runworker"}


def _ensure_django() -> None:
    try:
        import django  # noqa: F401
    except ModuleNotFoundError:
        if VENV_PYTHON.exists() and not os.environ.get("TENANTRY_REEXEC"):
            os.environ["TENANTRY_REEXEC"] = "1"
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), str(ROOT / "manage.py"), *sys.argv[1:]])  # noqa: S606
        sys.exit("error: Django is not installed: run `make install` (creates .venv) first")


def _ensure_database(command: str) -> None:
    if os.environ.get("DATABASE_URL") or command in NO_DATABASE:
        return
    from saas import embedded

    if embedded.is_running():
        os.environ["DATABASE_URL"] = embedded.url()
        return
    try:
        os.environ["DATABASE_URL"] = embedded.ensure_running()
    except Exception as exc:
        sys.exit(
            f"error: DATABASE_URL is unset and the embedded PostgreSQL in .data/ did not "
            f"start ({exc}); set DATABASE_URL or see .data/postgres/server.log"
        )
    print(
        "manage.py: started the embedded PostgreSQL in .data/postgres (`make clean` stops it)",
        file=sys.stderr,
    )


def main() -> None:
    _ensure_django()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    _ensure_database(command)
    if command not in SERVERS:
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        # A one-shot command needs no connection pool: it connects when it needs
        # to, and a database it cannot reach is reported at once.
        os.environ.setdefault("DB_POOL", "0")

    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except Exception as exc:
        # What escapes a command's own handling (tenants.commands): settings that do not
        # parse, a database down before the command starts, a framework command's failure.
        from tenants.commands import describe, wants_traceback

        if wants_traceback(sys.argv):
            raise

        sys.exit(f"error: {describe(exc)}")


if __name__ == "__main__":
    main()
