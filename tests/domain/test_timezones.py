"""Timezones (DST gaps and folds, user input, day bounds) and the calendar math built on local dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.calendar import (
    days_in_month,
    iter_dates,
    month_bounds,
    month_label,
    week_bounds,
    weekday_name,
)
from core.domain.timezones import (
    ResolvedTime,
    ensure_aware_utc,
    format_local,
    local_date,
    local_day_bounds,
    local_range_bounds,
    local_to_utc,
    resolve_user_time,
    to_local,
    validate_timezone,
)
from core.errors import ValidationFailed

BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- validate_timezone ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Europe/London", "America/New_York", "UTC", " Asia/Kolkata "])
def test_iana_names_are_accepted(name: str) -> None:
    assert validate_timezone(name).key == name.strip()


@pytest.mark.parametrize("name", ["Mars/Base", "", "europe/london", "../etc/passwd", "localtime", "+02:00"])
def test_other_names_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_timezone(name)
    problem = excinfo.value.problems[0]
    assert (problem.field, problem.code, problem.actual) == ("timezone", "invalid_timezone", name)


def test_invalid_timezone_message() -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_timezone("Mars/Base")
    assert excinfo.value.problems[0].message == (
        "'Mars/Base' is not an IANA timezone; use a name like Europe/London or America/New_York"
    )


# --- local_to_utc --------------------------------------------------------------------------------

def test_nine_am_in_berlin_across_the_spring_change() -> None:
    assert local_to_utc(datetime(2026, 3, 28, 9, 0), "Europe/Berlin") == utc(2026, 3, 28, 8, 0)
    assert local_to_utc(datetime(2026, 3, 29, 9, 0), "Europe/Berlin") == utc(2026, 3, 29, 7, 0)


def test_a_time_in_the_spring_gap_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        local_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)
    problem = excinfo.value.problems[0]
    assert (problem.field, problem.code) == ("scheduled_at", "nonexistent_local_time")
    assert problem.message == (
        "02:30 on 2026-03-29 does not exist in Europe/Berlin: clocks jump from 02:00 to 03:00. "
        "Choose 03:00 or later."
    )


def test_gap_message_in_another_zone() -> None:
    with pytest.raises(ValidationFailed, match="clocks jump from 02:00 to 03:00"):
        local_to_utc(datetime(2026, 3, 8, 2, 15), "America/New_York")


def test_gap_that_skips_a_whole_day_names_the_dates() -> None:
    # Samoa skipped 30 December 2011 when it moved across the date line.
    with pytest.raises(ValidationFailed, match="from 2011-12-30 00:00 to 2011-12-31 00:00"):
        local_to_utc(datetime(2011, 12, 30, 10, 0), "Pacific/Apia")


def test_the_edges_of_the_gap_exist() -> None:
    assert local_to_utc(datetime(2026, 3, 29, 1, 59), BERLIN) == utc(2026, 3, 29, 0, 59)
    assert local_to_utc(datetime(2026, 3, 29, 3, 0), BERLIN) == utc(2026, 3, 29, 1, 0)


def test_an_ambiguous_autumn_time_resolves_to_its_first_occurrence() -> None:
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    assert local_to_utc(datetime(2026, 10, 25, 2, 30, fold=1), BERLIN) == utc(2026, 10, 25, 0, 30)


def test_local_to_utc_wants_a_naive_wall_time() -> None:
    with pytest.raises(ValueError):
        local_to_utc(utc(2026, 3, 29, 9, 0), BERLIN)


@settings(max_examples=200, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)),
    tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
                        "America/Santiago", "Pacific/Chatham"]),
)
def test_every_existing_wall_time_round_trips(instant: datetime, tz: str) -> None:
    as_utc = instant.replace(tzinfo=UTC)
    wall = as_utc.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    back = local_to_utc(wall, tz)
    # In a fold both instants show the same wall time; the first one is returned.
    assert back == as_utc or (back < as_utc and to_local(back, tz).replace(tzinfo=None) == wall)


# --- resolve_user_time ---------------------------------------------------------------------------

def test_naive_string_is_read_in_the_org_timezone_with_a_note() -> None:
    resolved = resolve_user_time("2026-03-29T09:00", "Europe/Berlin")
    assert resolved == ResolvedTime(
        utc=utc(2026, 3, 29, 7, 0), assumed_timezone=True,
        note="No timezone given: read 2026-03-29 09:00 as Europe/Berlin time (07:00 UTC)",
    )


def test_note_names_the_utc_date_when_it_differs() -> None:
    resolved = resolve_user_time("2026-03-29 00:30", "Europe/Berlin")
    assert resolved.note is not None and resolved.note.endswith("(2026-03-28 23:30 UTC)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-29T09:00Z", utc(2026, 3, 29, 9, 0)),
        ("2026-03-29T09:00+02:00", utc(2026, 3, 29, 7, 0)),
        ("2026-03-29T09:00:00-05:00", utc(2026, 3, 29, 14, 0)),
        (datetime(2026, 3, 29, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
         utc(2026, 3, 29, 3, 30)),
    ],
)
def test_times_with_an_offset_are_taken_as_given(value: str | datetime, expected: datetime) -> None:
    resolved = resolve_user_time(value, "Europe/Berlin")
    assert resolved == ResolvedTime(utc=expected, assumed_timezone=False, note=None)
    assert resolved.utc.tzinfo is UTC


def test_naive_datetime_is_read_in_the_org_timezone() -> None:
    resolved = resolve_user_time(datetime(2026, 3, 28, 9, 0), BERLIN)
    assert resolved.utc == utc(2026, 3, 28, 8, 0) and resolved.assumed_timezone


@pytest.mark.parametrize("value", ["tomorrow 9am", "", "2026-13-01T09:00", "29/03/2026 09:00"])
def test_unparsable_strings_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        resolve_user_time(value, BERLIN)
    problem = excinfo.value.problems[0]
    assert (problem.field, problem.code, problem.actual) == ("scheduled_at", "invalid_datetime", value)


def test_a_naive_string_in_the_gap_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="does not exist in Europe/Berlin"):
        resolve_user_time("2026-03-29T02:30", BERLIN)


# --- showing times -------------------------------------------------------------------------------

def test_to_local_and_format_local() -> None:
    assert to_local(utc(2026, 7, 1, 10, 0), "Europe/Berlin").hour == 12
    assert format_local(utc(2026, 7, 1, 10, 0), BERLIN) == "2026-07-01 12:00 CEST"
    assert format_local(utc(2026, 1, 1, 10, 0), BERLIN, "%H:%M") == "11:00"


def test_local_date_can_differ_from_the_utc_date() -> None:
    assert local_date(utc(2026, 3, 28, 23, 30), BERLIN) == date(2026, 3, 29)
    assert local_date(utc(2026, 3, 29, 3, 0), "America/Los_Angeles") == date(2026, 3, 28)


def test_naive_datetimes_are_refused_where_utc_is_expected() -> None:
    with pytest.raises(ValueError):
        ensure_aware_utc(datetime(2026, 3, 29, 9, 0))
    with pytest.raises(ValueError):
        to_local(datetime(2026, 3, 29, 9, 0), BERLIN)
    aware = datetime(2026, 3, 29, 9, 0, tzinfo=BERLIN)
    assert ensure_aware_utc(aware) == utc(2026, 3, 29, 7, 0)
    assert ensure_aware_utc(aware).tzinfo is UTC


# --- day bounds ----------------------------------------------------------------------------------

def test_the_spring_change_day_has_23_hours() -> None:
    start, end = local_day_bounds(date(2026, 3, 29), BERLIN)
    assert (start, end) == (utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0))
    assert end - start == timedelta(hours=23)


def test_the_autumn_change_day_has_25_hours() -> None:
    start, end = local_day_bounds(date(2026, 10, 25), "Europe/Berlin")
    assert end - start == timedelta(hours=25)


def test_an_ordinary_day_has_24_hours() -> None:
    start, end = local_day_bounds(date(2026, 6, 1), BERLIN)
    assert (start, end) == (utc(2026, 5, 31, 22, 0), utc(2026, 6, 1, 22, 0))


def test_a_day_whose_midnight_is_skipped_starts_at_the_jump() -> None:
    # Havana springs forward at midnight: 2026-03-08 begins at 01:00 local (05:00 UTC).
    start, end = local_day_bounds(date(2026, 3, 8), "America/Havana")
    assert start == utc(2026, 3, 8, 5, 0)
    assert end - start == timedelta(hours=23)


@settings(max_examples=100, deadline=None)
@given(
    d=st.dates(min_value=date(2000, 1, 1), max_value=date(2037, 12, 30)),
    tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Havana"]),
)
def test_day_bounds_contain_exactly_that_local_day(d: date, tz: str) -> None:
    start, end = local_day_bounds(d, tz)
    assert local_date(start, tz) == d
    assert local_date(end - timedelta(microseconds=1), tz) == d
    assert local_date(end, tz) == d + timedelta(days=1)
    assert local_day_bounds(d + timedelta(days=1), tz)[0] == end  # days tile without gaps


def test_range_bounds_span_whole_local_days() -> None:
    start, end = local_range_bounds(date(2026, 3, 1), date(2026, 3, 31), BERLIN)
    assert (start, end) == (utc(2026, 2, 28, 23, 0), utc(2026, 3, 31, 22, 0))
    with pytest.raises(ValidationFailed):
        local_range_bounds(date(2026, 3, 2), date(2026, 3, 1), BERLIN)


# --- calendar ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("year", "month", "last"),
    [(2025, 11, 30), (2025, 12, 31), (2026, 2, 28), (2028, 2, 29), (2100, 2, 28)],
)
def test_month_bounds(year: int, month: int, last: int) -> None:
    assert month_bounds(year, month) == (date(year, month, 1), date(year, month, last))
    assert days_in_month(year, month) == last


@pytest.mark.parametrize(("year", "month", "bad"), [(2025, 0, "month"), (2025, 13, "month"),
                                                   (20255, 1, "year"), (1969, 1, "year")])
def test_month_bounds_refuses_bad_input(year: int, month: int, bad: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        month_bounds(year, month)
    assert [p.field for p in excinfo.value.problems] == [bad]


def test_iter_dates_includes_both_ends() -> None:
    assert list(iter_dates(date(2026, 2, 27), date(2026, 3, 2))) == [
        date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2),
    ]
    assert list(iter_dates(date(2026, 3, 2), date(2026, 3, 1))) == []


def test_labels_and_weeks() -> None:
    assert month_label(2025, 11) == "November 2025"
    assert weekday_name(date(2025, 11, 28)) == "Friday"
    assert week_bounds(date(2025, 11, 28)) == (date(2025, 11, 24), date(2025, 11, 30))
    assert week_bounds(date(2025, 11, 24)) == (date(2025, 11, 24), date(2025, 11, 30))
    assert week_bounds(date(2025, 11, 30)) == (date(2025, 11, 24), date(2025, 11, 30))
