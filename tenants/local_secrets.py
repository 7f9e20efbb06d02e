"""Secrets generated once per checkout for local use (`make run`, `make test`): files in .data/, mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / ".data"


def read_or_create(path: Path) -> str:
    """The secret stored at `path`, created (random, 0600) on first use.

    Written whole under a temporary name, then linked: a concurrent reader sees
    either no file or the complete one, and the first writer wins.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
