"""Ordering that is always total and strict: the id breaks ties; an unknown field is a 400."""

from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

UUID_RE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class StableOrderingFilter(OrderingFilter):
    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not any(o.lstrip("-") in ("id", "pk") for o in ordering):
            ordering.append("id")
        return ordering

    def remove_invalid_fields(self, queryset, fields, view, request):
        """Refuse instead of silently dropping: a client asking for an order must get it."""
        allowed = [item[0] for item in self.get_valid_fields(queryset, view, {"request": request})]
        terms = [term for term in fields if term]
        unknown = [term for term in terms if term.removeprefix("-") not in allowed]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Unknown ordering field(s): {', '.join(unknown)}. "
                        f"Allowed: {', '.join(allowed)} (prefix '-' for descending)."
                    ]
                }
            )
        return terms
