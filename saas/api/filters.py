"""Ordering that is always total: the id breaks ties, so pages never overlap or skip."""

from rest_framework.filters import OrderingFilter

UUID_RE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class StableOrderingFilter(OrderingFilter):
    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not any(o.lstrip("-") in ("id", "pk") for o in ordering):
            ordering.append("id")
        return ordering
