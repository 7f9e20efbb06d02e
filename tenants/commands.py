"""Every product command reports a failure as one line on stderr and a non-zero exit.

An operator reads `error: <message>`, never a traceback: bad input is theirs to fix, and a
traceback hides the one line that says how. The traceback stays available with `--traceback`
or `-v 3` (as Django's own CommandError handling does) and in the log at DEBUG. manage.py
uses `describe` for what fails before a command runs (settings, an unknown command).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

import psycopg
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import (
    BaseCommand,
    CommandError,
    SystemCheckError,
    handle_default_options,
)
from django.db import connections
from django.db.utils import DatabaseError, DataError, OperationalError

log = logging.getLogger(__name__)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def describe(exc: BaseException) -> str:
    """A one-line message an operator can act on, for any exception."""
    if isinstance(exc, CommandError):
        text = _first_line(exc)
        # The argument parser's errors arrive as "Error: argument --x: …".
        for prefix in ("Error: argument ", "Error: "):
            if text.startswith(prefix):
                return text[len(prefix) :]
        return text or "failed"
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, OperationalError | psycopg.OperationalError):
        text = _first_line(exc)
        hint = ""
        if "does not exist" in text:
            hint = "; run `manage.py migrate` first (it creates the database and roles)"
        return f"database unavailable: {text}{hint}"
    if isinstance(exc, DataError | psycopg.DataError):
        # A value the column's type cannot hold (too long, out of range): nothing was written,
        # the statement's transaction rolled back.
        return f"a value does not fit its database column: {_first_line(exc)}"
    if isinstance(exc, DatabaseError | psycopg.DatabaseError):
        return f"the database refused the change: {_first_line(exc)}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or _first_line(exc) or type(exc).__name__}{where}"
    if isinstance(exc, OverflowError):
        return f"a number is out of range ({_first_line(exc)})"
    if isinstance(exc, ImproperlyConfigured | ValueError):
        return _first_line(exc) or type(exc).__name__
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = _first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def wants_traceback(argv) -> bool:
    return (
        "--traceback" in argv
        or any(a in argv for a in ("-v3", "--verbosity=3"))
        or any(
            a in ("-v", "--verbosity") and argv[i + 1 : i + 2] == ["3"] for i, a in enumerate(argv)
        )
    )


class _HeldRecords(logging.Filter):
    """What a command logs on the terminal (the root's `console` handler), held until it ends.

    Code below a command logs why something failed (the broker refused a job, a row was not
    published) before the command raises; printed as it happened, the terminal showed those
    JSON lines above the one `error:` line. Held, they are shown after the command's output
    when it succeeds, and dropped when it fails, unless the operator asked for the traceback.
    """

    LIMIT = 10_000  # a runaway command's warnings do not grow without bound

    def __init__(self):
        super().__init__()
        self.handlers = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if len(self.records) < self.LIMIT:
            self.records.append(record)
        return False

    def __enter__(self):
        for handler in self.handlers:
            handler.addFilter(self)
        return self

    def __exit__(self, *exc):
        for handler in self.handlers:
            handler.removeFilter(self)

    def release(self) -> None:
        records, self.records = self.records, []
        for record in records:
            for handler in self.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)


class OneLineErrors:
    """Mixin for a command class: `run_from_argv` (the operator's door) fails in one line.

    `call_command` (tests, other code) still raises: a caller in Python wants the exception.
    """

    def run_from_argv(self, argv):
        traceback = wants_traceback(argv)
        # Created before `_called_from_command_line` is set, the parser raises CommandError
        # on bad arguments instead of printing its usage and exiting: reported in one line too.
        parser = self.create_parser(argv[0], argv[1])
        try:
            options = parser.parse_args(argv[2:])
        except CommandError as exc:
            self._fail(exc, argv, traceback=traceback)
        self._called_from_command_line = True
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        handle_default_options(options)  # --settings, --pythonpath
        held = _HeldRecords()
        try:
            with held:
                self.execute(*args, **cmd_options)
        except SystemCheckError as exc:
            held.release()
            if traceback:
                raise
            self.stderr.write(str(exc), lambda x: x)  # a report of its own, as Django prints it
            sys.exit(exc.returncode)
        except (Exception, KeyboardInterrupt) as exc:
            if traceback or logging.getLogger().isEnabledFor(logging.DEBUG):
                held.release()  # asked for everything: the trace, or LOG_LEVEL=DEBUG
            self._fail(exc, argv, traceback=traceback)
        else:
            held.release()
        finally:
            with contextlib.suppress(ImproperlyConfigured):  # settings never loaded
                connections.close_all()

    def _fail(self, exc: BaseException, argv, *, traceback: bool):
        if traceback:
            raise exc
        log.debug("%s failed", " ".join(argv[1:2]), exc_info=exc)
        sys.stderr.write(f"error: {describe(exc)}\n")
        sys.exit(130 if isinstance(exc, KeyboardInterrupt) else getattr(exc, "returncode", 1) or 1)


class OperatorCommand(OneLineErrors, BaseCommand):
    """The base of every product command (tests/tenants/test_command_errors.py checks)."""


def column(model, field_name: str, *, unlimited: tuple[str, ...] = ()):
    """An argparse `type` checking a value against its model field (length, integer range,
    digits): the model stays the one home of the limit. A word in `unlimited` means None."""
    field = model._meta.get_field(field_name)

    def parse(value: str):
        if value.strip().lower() in unlimited:
            return None
        try:
            cleaned = field.to_python(value)
            field.run_validators(cleaned)
        except ValidationError as exc:
            hint = f" (or {unlimited[0]!r})" if unlimited else ""
            raise argparse.ArgumentTypeError(" ".join(exc.messages) + hint) from None
        return cleaned

    parse.__name__ = field_name
    return parse
