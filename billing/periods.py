"""Billing periods: calendar months, clamped to the month's last day."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


def add_months(moment: datetime, months: int) -> datetime:
    """Same day next month(s), clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, add_months(start, 1)
