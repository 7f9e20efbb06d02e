"""How an operator is named in a tenant's audit log: who it was, never an anonymous "operator"."""

from __future__ import annotations

import getpass
import os

PREFIX = "operator "


def operator_actor(identity: str) -> str:
    """The audit label of an operator: `operator ops@example.com` (console) or an OS user."""
    return f"{PREFIX}{identity.strip()}"


def is_operator_label(label: str) -> bool:
    """An audit label written for an operator (also the anonymous one of older rows)."""
    return label == PREFIX.strip() or label.startswith(PREFIX)


def command_actor(explicit: str | None = None) -> str:
    """Who runs a management command: `--actor` when given, else the OS user running it."""
    if explicit and explicit.strip():
        return operator_actor(explicit)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry or LOGNAME
        user = f"uid {os.getuid()}"
    return operator_actor(user)


def add_actor_argument(parser) -> None:
    """`--actor` for every command that acts on a tenant as an operator."""
    parser.add_argument(
        "--actor",
        default="",
        help="who acts, as recorded in the tenant's audit log (default: the OS user)",
    )
