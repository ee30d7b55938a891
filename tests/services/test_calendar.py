"""Calendar planning tools beyond the seed's test plan: frequency, gaps, filters, the views."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from core.errors import ValidationFailed
from tests.conftest import Team


def test_posting_frequency_counts_by_local_weekday_and_hour(herald, team: Team) -> None:
    herald.clock.set(herald.clock.now().replace(day=1))  # 1 Nov 2026, so the posts below are "recent"
    s = herald.scheduling
    s.schedule_post(team.editor, {"content": "a", "platforms": ["twitter"], "scheduled_at": "2026-11-10T09:00:00"})
    s.schedule_post(team.editor, {"content": "b", "platforms": ["twitter"], "scheduled_at": "2026-11-17T09:30:00"})
    s.schedule_post(team.editor, {"content": "c", "platforms": ["linkedin"], "scheduled_at": "2026-11-20T18:00:00"})
    herald.clock.set(herald.clock.now().replace(day=24))
    freq = herald.calendar.get_posting_frequency(team.viewer, days=30)
    assert freq["day_of_week"] == {"Tuesday": 2, "Friday": 1}
    assert freq["hour_of_day"][9] == 2 and freq["hour_of_day"][18] == 1
    assert freq["total_posts"] == 3 and freq["avg_per_day"] == 0.1
    with pytest.raises(ValidationFailed):
        herald.calendar.get_posting_frequency(team.viewer, days=0)


def test_content_gaps_by_day_and_by_network(herald, team: Team) -> None:
    herald.scheduling.schedule_post(team.editor, {
        "content": "Only twitter", "platforms": ["twitter"], "scheduled_at": "2026-11-26T10:00:00"})
    herald.scheduling.schedule_post(team.editor, {"content": "A draft", "platforms": ["linkedin"]})
    gaps = herald.calendar.get_content_gaps(team.viewer, date(2026, 11, 25), date(2026, 11, 27))
    assert [g["date"] for g in gaps["days"]] == ["2026-11-25", "2026-11-27"]
    # No accounts connected yet, so every network counts.
    assert len(gaps["platforms"]) == 7
    on_26 = {g["platform"] for g in gaps["platform_days"] if g["date"] == "2026-11-26"}
    assert "twitter" not in on_26 and "linkedin" in on_26
    with pytest.raises(ValidationFailed):
        herald.calendar.get_content_gaps(team.viewer, date(2026, 11, 27), date(2026, 11, 25))


def test_calendar_filters_by_status_and_includes_empty_days(herald, team: Team) -> None:
    post = herald.scheduling.schedule_post(team.editor, {
        "content": "x", "platforms": ["twitter"], "scheduled_at": "2026-11-26T10:00:00"}).post
    herald.scheduling.cancel_post(team.editor, post.post_id)
    days = herald.calendar.get_calendar(team.viewer, date(2026, 11, 25), date(2026, 11, 27),
                                        statuses=["scheduled"], include_empty_days=True)
    assert [(d.date.day, d.total_posts) for d in days] == [(25, 0), (26, 0), (27, 0)]
    cancelled = herald.calendar.get_calendar(team.viewer, date(2026, 11, 25), date(2026, 11, 27), statuses=["cancelled"])
    assert [d.total_posts for d in cancelled] == [1]


def test_the_seed_views_answer_on_both_databases(herald, team: Team) -> None:
    herald.scheduling.schedule_post(team.editor, {
        "content": "Viewed", "platforms": ["twitter"], "scheduled_at": "2026-11-26T10:00:00"})
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        row = uow.session.execute(text(
            "SELECT content, status, creator_name, platform_count, total_engagement FROM v_content_calendar")).one()
        assert tuple(row) == ("Viewed", "scheduled", "Editor User", 0, 0)
        assert uow.session.execute(text("SELECT count(*) FROM v_publishing_performance")).scalar() == 0
