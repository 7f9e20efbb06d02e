"""Which tenant and request a statement belongs to, as PostgreSQL itself shows it.

The tenant middleware opens a tag for the request (tenant, request id, and the
route group once the URL is resolved); the database backend passes it to
saas_enter_tenant(), which sets `application_name` transaction-locally. So
pg_stat_activity.application_name and the server log's %a name the tenant and the
request of every statement the app sends, at no extra round trip, and the name
reverts when the transaction ends (idle pooled connections keep their own).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

PREFIX = "tenantry"
MAX_LENGTH = 63  # PostgreSQL keeps NAMEDATALEN - 1 bytes of application_name
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")  # the value is quoted into SQL: keep it inert

_tag: ContextVar[list | None] = ContextVar("statement_tag", default=None)


def _clean(value: str | None, limit: int) -> str:
    return _UNSAFE.sub("", value or "")[:limit]


def _render(tenant: str, request_id: str, group: str) -> str:
    rest = (f" r={request_id}" if request_id else "") + (f" g={group}" if group else "")
    room = MAX_LENGTH - len(PREFIX) - len(" t=") - len(rest)
    return f"{PREFIX} t={tenant[: max(0, room)]}{rest}"[:MAX_LENGTH]


@contextmanager
def request_tag(*, tenant: str, request_id: str | None) -> Iterator[None]:
    """Tag the statements of the block with `tenant` and `request_id`."""
    holder = [_clean(tenant, 63), _clean(request_id, 32), ""]
    holder.append(_render(*holder))
    token = _tag.set(holder)
    try:
        yield
    finally:
        _tag.reset(token)


def tag_route_group(group: str) -> None:
    """Add the route group (known once the URL is resolved) to the open tag."""
    holder = _tag.get()
    if holder is not None:
        holder[2] = _clean(group, 24)
        holder[3] = _render(*holder[:3])


def current_tag() -> str:
    """The application_name for the running statement's transaction ('' outside a request)."""
    holder = _tag.get()
    return holder[3] if holder is not None else ""


def with_attribution(prefix: tuple[str, int], tag: str) -> tuple[str, int]:
    """The enter call `prefix` (its last argument '') naming its transaction `tag`."""
    if not tag or not prefix[0].endswith(", '')"):
        return prefix
    return (f"{prefix[0][:-2]}{tag}')", prefix[1])
