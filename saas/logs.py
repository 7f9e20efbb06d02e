"""Logging handlers of the project (wired in settings.LOGGING)."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path


def security_handler(path: str) -> logging.Handler:
    """The security log: a file the operator can keep, or stderr for "-" (containers).

    RLS bypasses are recorded here with their reason; on a terminal they would be noise
    after every operator command, and an unwritable directory must not stop the command.
    """
    if path != "-":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            return logging.handlers.WatchedFileHandler(path)
        except OSError:
            pass
    return logging.StreamHandler(sys.stderr)
