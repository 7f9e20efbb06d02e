"""A page and its total count in one statement.

Django's Paginator counts first (one statement) and then reads the page (a second).
Here the page query carries the count as an uncorrelated scalar sub-select, which
PostgreSQL evaluates once (an InitPlan) over the same filtered rows; so a page-number
list costs one round trip and one transaction instead of two. An empty page past the
first falls back to the count alone, to tell "no such page" (404) from a list that
emptied meanwhile. Querysets whose rows a plain COUNT(*) would not count one for one
(DISTINCT, GROUP BY, set operations, already sliced) take Django's path, as does a
paginator with orphans.
"""

from __future__ import annotations

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import BigIntegerField, Func, QuerySet, Subquery

TOTAL = "_page_total"


def _countable(qs) -> bool:
    if not isinstance(qs, QuerySet):
        return False
    q = qs.query
    return not (q.distinct or q.is_sliced or q.group_by is not None or q.combinator)


def _total(qs: QuerySet) -> Subquery:
    count = Func(template="COUNT(*)", output_field=BigIntegerField())
    return Subquery(qs.order_by().values(**{TOTAL: count}), output_field=BigIntegerField())


class CountedPaginator(Paginator):
    def page(self, number):
        qs = self.object_list
        if self.orphans or not _countable(qs):
            return super().page(number)
        number = self._integer(number)
        bottom = (number - 1) * self.per_page
        rows = list(qs.annotate(**{TOTAL: _total(qs)})[bottom : bottom + self.per_page])
        if rows:
            self.__dict__["count"] = getattr(rows[0], TOTAL)
        elif number == 1:
            self.__dict__["count"] = 0
        else:
            self.validate_number(number)  # counts: EmptyPage past the last page
        return self._get_page(rows, number, self)

    def _integer(self, number) -> int:
        """validate_number's checks that need no count."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number
