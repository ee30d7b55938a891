"""Calendar planning tools beyond the seed's test plan: frequency, gaps, filters, the views."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from core.db.models import ScheduledPost
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


def test_a_day_can_list_a_few_posts_and_still_count_them_all(herald, team: Team) -> None:
    for hour in (9, 11, 13, 15, 17):
        herald.scheduling.schedule_post(team.editor, {
            "title": f"At {hour}", "content": "busy day", "platforms": ["twitter"],
            "scheduled_at": f"2026-11-26T{hour:02d}:00:00"}, force=True)
    [day] = herald.calendar.get_calendar(team.viewer, date(2026, 11, 26), date(2026, 11, 26), posts_per_day=2)
    assert day.total_posts == 5
    assert [(p.title, p.local_time) for p in day.posts] == [("At 9", "09:00"), ("At 11", "11:00")]
    [everything] = herald.calendar.get_calendar(team.viewer, date(2026, 11, 26), date(2026, 11, 26))
    assert len(everything.posts) == everything.total_posts == 5


def test_a_post_published_without_a_schedule_is_on_its_publication_day(herald, team: Team) -> None:
    # Written as an import or a publish-now path might: no scheduled_at, only published_at.
    with herald.db.unit_of_work(team.org.org_id) as uow:
        uow.session.add(ScheduledPost(
            org_id=team.org.org_id, created_by=team.editor.user_id, title="Unscheduled", content="x",
            post_type="text", platforms=["twitter"], status="published", approval_status="approved",
            scheduled_at=None, published_at=datetime(2026, 11, 20, 23, 30, tzinfo=UTC)))
        uow.commit()
    # 23:30 UTC on 20 Nov is the 21st in Tokyo; the calendar reads local days.
    herald.orgs.update_settings(team.admin, timezone="Asia/Tokyo")
    days = herald.calendar.get_calendar(team.viewer, date(2026, 11, 20), date(2026, 11, 21))
    assert [(d.date.day, [p.title for p in d.posts]) for d in days] == [(21, ["Unscheduled"])]
    assert herald.calendar.get_monthly_overview(team.viewer, 2026, 11)["posts_per_day"] == {"2026-11-21": 1}
