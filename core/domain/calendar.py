"""Calendar arithmetic on plain local dates (what the content calendar shows).

Labels are English and independent of the server's locale (``strftime("%B")`` is not).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from core.errors import Problem, ValidationFailed

MIN_CALENDAR_YEAR = 1970
MAX_CALENDAR_YEAR = 2100  # far enough for planning; catches typos such as 20255

MONTH_NAMES: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
WEEKDAY_NAMES: tuple[str, ...] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)


def _check_year_month(year: int, month: int) -> None:
    problems: list[Problem] = []
    if not MIN_CALENDAR_YEAR <= year <= MAX_CALENDAR_YEAR:
        problems.append(Problem(
            field="year", code="out_of_range",
            message=f"year must be between {MIN_CALENDAR_YEAR} and {MAX_CALENDAR_YEAR}",
            limit=[MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR], actual=year,
        ))
    if not 1 <= month <= 12:
        problems.append(Problem(
            field="month", code="out_of_range", message="month must be between 1 and 12",
            limit=[1, 12], actual=month,
        ))
    if problems:
        raise ValidationFailed(problems)


def check_date_range(start: date, end_inclusive: date, *, max_days: int) -> None:
    """A range a person may ask for: both ends in the supported years, the end not before the
    start, and at most ``max_days`` days. Every problem at once."""
    problems: list[Problem] = []
    for name, value in (("start_date", start), ("end_date", end_inclusive)):
        if not MIN_CALENDAR_YEAR <= value.year <= MAX_CALENDAR_YEAR:
            problems.append(Problem(
                field=name, code="out_of_range", actual=value.isoformat(),
                message=f"{name} must be in the years {MIN_CALENDAR_YEAR} to {MAX_CALENDAR_YEAR}",
                limit=[MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR]))
    if end_inclusive < start:
        problems.append(Problem(field="end_date", code="before_start", actual=end_inclusive.isoformat(),
                                limit=start.isoformat(), message="The end date is before the start date"))
    elif (end_inclusive - start).days + 1 > max_days:
        problems.append(Problem(field="end_date", code="range_too_long", limit=max_days,
                                actual=(end_inclusive - start).days + 1,
                                message=f"Pick at most {max_days} days"))
    if problems:
        raise ValidationFailed(problems)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """(first day, last day) of the month; raises :class:`ValidationFailed` for a bad year/month."""
    _check_year_month(year, month)
    first = date(year, month, 1)
    next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, next_first - timedelta(days=1)


def days_in_month(year: int, month: int) -> int:
    return month_bounds(year, month)[1].day


def iter_dates(start: date, end_inclusive: date) -> Iterator[date]:
    """Every date from ``start`` to ``end_inclusive``; nothing when the end is before the start."""
    current = start
    while current <= end_inclusive:
        yield current
        current += timedelta(days=1)


def month_label(year: int, month: int) -> str:
    """``month_label(2025, 11) -> "November 2025"``."""
    _check_year_month(year, month)
    return f"{MONTH_NAMES[month - 1]} {year}"


def weekday_name(d: date) -> str:
    """``"Friday"`` for a Friday."""
    return WEEKDAY_NAMES[d.weekday()]


def week_bounds(d: date) -> tuple[date, date]:
    """(Monday, Sunday) of the ISO week containing ``d``."""
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)
