"""Timezone rules: store aware UTC, show and read the org's IANA timezone.

The two DST traps are handled on purpose:

* a wall time in the spring-forward gap (02:30 on the last Sunday of March in Berlin) does not
  exist; it is refused with a message saying where the clocks jump, never silently shifted;
* a wall time in the autumn fold (02:30 on the last Sunday of October in Berlin) happens twice;
  it resolves to the first occurrence, the one that comes sooner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.domain.calendar import MAX_CALENDAR_YEAR, MIN_CALENDAR_YEAR
from core.errors import Problem, ValidationFailed

# Present in the tz database directory but not place names: "localtime" is whatever the server
# runs in, "Factory" and "posixrules" are build artefacts.
_NOT_IANA_NAMES = frozenset({"localtime", "posixrules", "Factory"})
# Times people and API clients may type: the calendar's years.
MIN_INPUT_YEAR, MAX_INPUT_YEAR = MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR


def validate_timezone(name: str) -> ZoneInfo:
    """Return the :class:`ZoneInfo` for an IANA name such as ``Europe/London``.

    Raises :class:`ValidationFailed` (field ``timezone``, code ``invalid_timezone``) otherwise.
    Surrounding whitespace from a form is forgiven; case is not (the database is case-sensitive).
    """
    key = name.strip() if isinstance(name, str) else name
    try:
        if not isinstance(key, str) or key in _NOT_IANA_NAMES:
            raise ValueError(key)
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationFailed([Problem(
            field="timezone", code="invalid_timezone",
            message=f"'{name}' is not an IANA timezone; "
                    "use a name like Europe/London or America/New_York",
            actual=name,
        )]) from None


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else validate_timezone(tz)


def ensure_aware_utc(dt: datetime) -> datetime:
    """``dt`` converted to UTC; raises ``ValueError`` for a naive datetime (its zone is unknown)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {dt!r}")
    return dt.astimezone(UTC)


def _wall(dt: datetime) -> datetime:
    """The naive wall-clock reading of an aware datetime."""
    return dt.replace(tzinfo=None, fold=0)


def _transition_instant(before_utc: datetime, after_utc: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant in ``(before_utc, after_utc]`` where ``zone``'s offset changes.

    Bisects to the second; offsets in the tz database change on whole seconds.
    """
    offset_before = before_utc.astimezone(zone).utcoffset()
    lo, hi = before_utc, after_utc
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if mid.astimezone(zone).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    return hi


def _gap_bounds(local: datetime, zone: ZoneInfo) -> tuple[datetime, datetime, datetime]:
    """For a wall time inside a spring-forward gap: (jump_from, jump_to) wall times and the UTC instant.

    fold=0 reads ``local`` with the offset from before the jump, fold=1 with the offset after; the
    transition lies between the two UTC instants they give.
    """
    local = local.replace(microsecond=0)  # keeps the bisection on whole seconds
    early = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    instant = _transition_instant(min(early, late), max(early, late), zone)
    just_before = instant - timedelta(seconds=1)
    jump_from = _wall(just_before.astimezone(zone)) + timedelta(seconds=1)
    jump_to = _wall(instant.astimezone(zone))
    return jump_from, jump_to, instant


def _clock(dt: datetime, *, with_date: bool) -> str:
    return dt.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def local_to_utc(local: datetime, tz: ZoneInfo | str, *, field: str = "scheduled_at") -> datetime:
    """UTC instant of the naive wall time ``local`` in ``tz``.

    A time that does not exist (DST gap) raises :class:`ValidationFailed` with code
    ``nonexistent_local_time`` on ``field``, naming where the clocks jump. A time that happens
    twice (DST fold) resolves to its first occurrence. An aware ``local`` is a caller bug
    (``ValueError``): use :func:`resolve_user_time` for input whose zone may or may not be given.
    """
    if local.tzinfo is not None:
        raise ValueError("local_to_utc expects a naive wall time; convert aware datetimes directly")
    zone = _zone(tz)
    local = local.replace(fold=0)
    utc = local.replace(tzinfo=zone).astimezone(UTC)
    if _wall(utc.astimezone(zone)) == local:
        return utc
    jump_from, jump_to, _ = _gap_bounds(local, zone)
    with_date = jump_from.date() != jump_to.date()
    raise ValidationFailed([Problem(
        field=field, code="nonexistent_local_time",
        message=(
            f"{local:%H:%M} on {local:%Y-%m-%d} does not exist in {zone.key}: clocks jump from "
            f"{_clock(jump_from, with_date=with_date)} to {_clock(jump_to, with_date=with_date)}. "
            f"Choose {_clock(jump_to, with_date=with_date)} or later."
        ),
        limit=jump_to.isoformat(), actual=local.isoformat(),
    )])


@dataclass(frozen=True)
class ResolvedTime:
    """A user-given time as aware UTC, and whether the org's timezone had to be assumed."""

    utc: datetime
    assumed_timezone: bool
    note: str | None


def _parse(value: str, field: str) -> datetime:
    text = value.strip()
    try:
        # 3.11's fromisoformat reads "Z", offsets, a space separator and date-only values.
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed([Problem(
            field=field, code="invalid_datetime",
            message=f"'{value}' is not a date and time; use ISO 8601 like 2026-03-29T09:00 "
                    "(read in the organisation's timezone) or 2026-03-29T09:00+02:00",
            actual=value,
        )]) from None


def resolve_user_time(
    value: datetime | str, tz: ZoneInfo | str, *, field: str = "scheduled_at"
) -> ResolvedTime:
    """Read a time a person or an API client gave us.

    With an offset (or ``Z``) it is converted to UTC as is. Without one it is read as a wall time
    in the org's timezone ``tz`` and the note says so, so the UI/API can show the assumption.
    Unparsable strings raise :class:`ValidationFailed` (code ``invalid_datetime`` on ``field``).
    """
    zone = _zone(tz)
    parsed = _parse(value, field) if isinstance(value, str) else value
    if not MIN_INPUT_YEAR <= parsed.year <= MAX_INPUT_YEAR:
        # Also keeps the arithmetic below clear of datetime's own limits (year 1 and 9999).
        raise ValidationFailed([Problem(
            field=field, code="out_of_range", limit=[MIN_INPUT_YEAR, MAX_INPUT_YEAR],
            actual=value if isinstance(value, str) else value.isoformat(),
            message=f"Pick a time in the years {MIN_INPUT_YEAR} to {MAX_INPUT_YEAR}",
        )])
    if parsed.tzinfo is not None and parsed.utcoffset() is not None:
        return ResolvedTime(utc=parsed.astimezone(UTC), assumed_timezone=False, note=None)
    utc = local_to_utc(parsed.replace(tzinfo=None), zone, field=field)
    same_day = utc.date() == parsed.date()
    note = (
        f"No timezone given: read {parsed:%Y-%m-%d %H:%M} as {zone.key} time "
        f"({_clock(utc, with_date=not same_day)} UTC)"
    )
    return ResolvedTime(utc=utc, assumed_timezone=True, note=note)


def to_local(utc_dt: datetime, tz: ZoneInfo | str) -> datetime:
    """``utc_dt`` (any aware datetime) as an aware datetime in ``tz``."""
    return ensure_aware_utc(utc_dt).astimezone(_zone(tz))


def format_local(utc_dt: datetime, tz: ZoneInfo | str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return to_local(utc_dt, tz).strftime(fmt)


def local_date(utc_dt: datetime, tz: ZoneInfo | str) -> date:
    """The calendar date in ``tz`` on which the instant ``utc_dt`` falls."""
    return to_local(utc_dt, tz).date()


def _start_of_local_day(d: date, zone: ZoneInfo) -> datetime:
    """UTC instant at which local day ``d`` begins.

    Usually local midnight; where a DST jump skips midnight (e.g. America/Havana) the day begins
    at the jump; where midnight happens twice, at its first occurrence.
    """
    midnight = datetime.combine(d, time.min)
    utc = midnight.replace(tzinfo=zone).astimezone(UTC)
    if _wall(utc.astimezone(zone)) == midnight:
        return utc
    _, _, instant = _gap_bounds(midnight, zone)
    return instant


def local_day_bounds(d: date, tz: ZoneInfo | str) -> tuple[datetime, datetime]:
    """``(start, end)`` in UTC of local day ``d``: start inclusive, end exclusive.

    The span is 23 or 25 hours on DST change days; filter with ``start <= t < end``.
    """
    zone = _zone(tz)
    return _start_of_local_day(d, zone), _start_of_local_day(d + timedelta(days=1), zone)


def local_range_bounds(
    start: date, end_inclusive: date, tz: ZoneInfo | str
) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` covering local days ``start`` through ``end_inclusive``."""
    if end_inclusive < start:
        raise ValidationFailed([Problem(
            field="end_date", code="end_before_start",
            message=f"the range ends ({end_inclusive}) before it starts ({start})",
            limit=start.isoformat(), actual=end_inclusive.isoformat(),
        )])
    zone = _zone(tz)
    return (_start_of_local_day(start, zone),
            _start_of_local_day(end_inclusive + timedelta(days=1), zone))
