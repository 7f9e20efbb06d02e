"""The bounded name of what served a request: its URL pattern and its group."""

from __future__ import annotations

import re

UNMATCHED = "unmatched"
_ANCHORS = re.compile(r"(^|/)\^")


def route_of(request) -> str:
    """The URL pattern that served the request (bounded), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.route is None:
        return UNMATCHED
    # Regex patterns (DRF routers) keep their anchors in the joined route: drop them.
    return "/" + _ANCHORS.sub(r"\1", match.route).removesuffix("$")


def route_group(route: str) -> str:
    """The first path segment of the route template: api, projects, accounts, …"""
    head = route.strip("/^").split("/", 1)[0]
    return (head or "home")[:32]
