"""Pagination: page numbers with the total count (default), or keyset cursors with `?cursor=`.

Cursor mode reads one index range per page, however deep: the position of the
page's edge row, (created_at, id), becomes a `WHERE created_at <= x AND
(created_at < x OR id < y)` that the tenant's (tenant_id, created_at) index
serves directly; no OFFSET, no count. Cursors are opaque (base64 JSON) and only
positions: a forged one can point anywhere in the caller's own rows, nowhere
else (the queryset is the tenant's, under RLS).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from api.paginator import CountedPaginator


def _encode(position: list[str], reverse: bool) -> str:
    raw = json.dumps({"p": position, "r": int(reverse)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor this module made is under 200 characters; anything far longer is not one.
CURSOR_MAX_LENGTH = 512


def _decode(token: str) -> tuple[list[str], bool]:
    try:
        if len(token) > CURSOR_MAX_LENGTH:
            raise ValueError("cursor too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        moment, pk = data["p"]
        if parse_datetime(moment) is None:
            raise ValueError(moment)
        return [moment, str(uuid.UUID(pk))], bool(data["r"])
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        # RecursionError: a cursor of deeply nested JSON (json.loads recurses per level).
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None


class ApiPagination(PageNumberPagination):
    django_paginator_class = CountedPaginator  # page and count in one statement
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_param = "cursor"
    #: The keyset's leading column (a view may set `cursor_field`); `id` breaks ties.
    cursor_field = "created_at"
    #: True: lists are only ever cursor-paginated (the audit log).
    cursor_only = False

    def paginate_queryset(self, queryset, request, view=None):
        self.cursor_mode = self.cursor_only or self.cursor_query_param in request.query_params
        if not self.cursor_mode:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        field = getattr(view, "cursor_field", self.cursor_field)
        descending = self._descending(request, view, field)
        token = request.query_params.get(self.cursor_query_param, "")
        position, reverse = _decode(token) if token else (None, False)
        forward_desc = descending != reverse  # the direction this query walks the index
        sign = "-" if forward_desc else ""
        qs = queryset.order_by(f"{sign}{field}", f"{sign}id")
        if position is not None:
            op = "lt" if forward_desc else "gt"
            moment, pk = position
            qs = qs.filter(
                Q(**{f"{field}__{op}e": moment})
                & (Q(**{f"{field}__{op}": moment}) | Q(**{field: moment, f"id__{op}": pk}))
            )
        size = self.get_page_size(request)
        rows = list(qs[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self.field = field
        self.has_next = more if not reverse else True
        self.has_previous = more if reverse else position is not None
        self.rows = rows
        return rows

    def _descending(self, request, view, field: str) -> bool:
        allowed = (field, f"-{field}")
        asked = request.query_params.get("ordering")
        if asked:
            if asked not in allowed:
                raise ValidationError(
                    {"ordering": [f"With a cursor the order is one of: {', '.join(allowed)}."]}
                )
            return asked.startswith("-")
        default = list(getattr(view, "ordering", None) or [f"-{field}"])
        return default[0] != field

    def _link(self, row, reverse: bool) -> str:
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        position = [getattr(row, self.field).isoformat(), str(row.pk)]
        return replace_query_param(url, self.cursor_query_param, _encode(position, reverse))

    def get_paginated_response(self, data):
        if not self.cursor_mode:
            return super().get_paginated_response(data)
        rows = self.rows
        return Response(
            {
                "next": self._link(rows[-1], False) if rows and self.has_next else None,
                "previous": self._link(rows[0], True) if rows and self.has_previous else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        body = super().get_paginated_response_schema(schema)
        body["required"] = ["results"]
        body["properties"]["count"]["description"] = "total rows; absent in cursor mode"
        return body

    def get_schema_operation_parameters(self, view):
        cursor = {
            "name": self.cursor_query_param,
            "required": False,
            "in": "query",
            "description": (
                "Keyset pagination: send `cursor=` (empty) for the first page, then follow "
                "`next`/`previous`. No `count` in this mode."
            ),
            "schema": {"type": "string"},
        }
        params = super().get_schema_operation_parameters(view)
        if self.cursor_only:
            params = [p for p in params if p["name"] != self.page_query_param]
        return [*params, cursor]


class CursorPagination(ApiPagination):
    cursor_only = True
