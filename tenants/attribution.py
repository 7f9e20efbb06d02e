"""Which tenant and request a statement belongs to, as PostgreSQL itself shows it.

The tenant middleware opens a tag for the request (tenant, request id, and the
route group once the URL is resolved); the database backend puts it in front of
every statement it sends as a comment in the sqlcommenter format:

    /*application='tenantry',request_id='…',route='api',tenant='acme'*/ SELECT …

So pg_stat_activity.query and every statement the server logs
(log_min_duration_statement, errors) name the tenant and the request of the
statement, at no extra round trip and no server-side work: nothing is set on the
connection, so nothing can outlive the statement. First, not last as the
sqlcommenter spec puts it, so that pg_stat_activity's truncation of long
statements (track_activity_query_size) never cuts it off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

APPLICATION = "tenantry"
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")  # the value goes into a SQL comment: keep it inert

_tag: ContextVar[list | None] = ContextVar("statement_tag", default=None)


def _clean(value: str | None, limit: int) -> str:
    return _UNSAFE.sub("", value or "")[:limit]


def _render(tenant: str, request_id: str, group: str) -> str:
    """The comment (keys sorted, as sqlcommenter does), with the space that follows it."""
    pairs = (("application", APPLICATION), ("request_id", request_id), ("route", group))
    pairs += (("tenant", tenant),)
    return "/*" + ",".join(f"{k}='{v}'" for k, v in pairs if v) + "*/ "


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
    """The comment to put in front of the running statement ('' outside a request)."""
    holder = _tag.get()
    return holder[3] if holder is not None else ""
