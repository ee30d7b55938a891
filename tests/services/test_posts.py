"""Creating, editing and scheduling posts: bad input, time zones, the queue, bulk scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEvent, PublishingQueueItem, ScheduledPost
from core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from tests.conftest import NOW, Team


def _count_posts(herald, org_id) -> int:  # type: ignore[no-untyped-def]
    with herald.db.unit_of_work(org_id, readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(ScheduledPost)) or 0


def _codes(exc: ValidationFailed) -> set[tuple[str | None, str, str]]:
    return {(p.platform, p.field, p.code) for p in exc.problems}


def test_bad_input_lists_every_problem_and_saves_nothing(herald, team: Team) -> None:
    with pytest.raises(ValidationFailed) as info:
        herald.scheduling.schedule_post(team.editor, {
            "content": "x" * 300 + " #launch",
            "platforms": ["twitter", "myspace", "instagram"],
            "post_type": "text",
            "scheduled_at": (NOW - timedelta(hours=1)).isoformat(),
        })
    codes = _codes(info.value)
    assert (None, "platforms", "unknown_platform") in codes
    assert ("twitter", "content", "too_long") in codes
    assert ("instagram", "post_type", "unsupported_post_type") in codes
    assert (None, "scheduled_at", "in_past") in codes
    in_past = next(p for p in info.value.problems if p.code == "in_past")
    # The time as the org sees it (the team's org is in London: GMT in this season), not UTC ISO.
    assert in_past.message == f"{(NOW - timedelta(hours=1)):%Y-%m-%d %H:%M} GMT is in the past; pick a time after now"
    too_long = next(p for p in info.value.problems if p.code == "too_long")
    assert too_long.limit == 280 and too_long.actual > 280
    assert info.value.details and all("message" in d for d in info.value.details)
    assert _count_posts(herald, team.org.org_id) == 0


def test_empty_content_and_wrong_media_count_are_refused(herald, team: Team) -> None:
    with pytest.raises(ValidationFailed) as info:
        herald.scheduling.schedule_post(team.editor, {
            "content": "   ", "platforms": ["instagram"], "post_type": "carousel",
            "media_urls": ["https://cdn.example.com/one.jpg"]})
    codes = _codes(info.value)
    assert any(field == "content" and code == "required" for _, field, code in codes)
    assert ("instagram", "media_urls", "too_few_media") in codes
    assert _count_posts(herald, team.org.org_id) == 0


def test_naive_time_is_read_in_the_org_timezone_and_the_result_says_so(herald) -> None:
    team = Team(herald, "America/New_York")
    result = herald.scheduling.schedule_post(team.editor, {
        "content": "Hello", "platforms": ["twitter"], "scheduled_at": "2026-12-01 09:00"})
    assert result.post.scheduled_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert any("America/New_York" in note for note in result.notes)
    # With an explicit offset nothing is assumed.
    explicit = herald.scheduling.schedule_post(team.editor, {
        "content": "Hello again", "platforms": ["linkedin"], "scheduled_at": "2026-12-01T09:00:00+00:00"})
    assert explicit.post.scheduled_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert explicit.notes == []


def test_a_post_at_nine_in_berlin_stays_nine_across_the_dst_change(herald) -> None:
    team = Team(herald, "Europe/Berlin")
    herald.clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    before = herald.scheduling.schedule_post(team.editor, {
        "content": "Day before", "platforms": ["twitter"], "scheduled_at": "2026-03-28 09:00"}).post
    on_change_day = herald.scheduling.schedule_post(team.editor, {
        "content": "Change day", "platforms": ["linkedin"], "scheduled_at": "2026-03-29 09:00"}).post
    assert before.scheduled_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # CET, UTC+1
    assert on_change_day.scheduled_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # CEST, UTC+2
    days = herald.calendar.get_calendar(team.viewer, datetime(2026, 3, 28).date(), datetime(2026, 3, 29).date())
    assert [(d.date.isoformat(), [p.local_time for p in d.posts]) for d in days] == [
        ("2026-03-28", ["09:00"]), ("2026-03-29", ["09:00"])]


def test_a_local_time_that_does_not_exist_is_refused_clearly(herald) -> None:
    team = Team(herald, "Europe/Berlin")
    herald.clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as info:
        herald.scheduling.schedule_post(team.editor, {
            "content": "Into the gap", "platforms": ["twitter"], "scheduled_at": "2026-03-29 02:30"})
    problem = info.value.problems[0]
    assert problem.code == "nonexistent_local_time"
    assert "does not exist" in problem.message and "Europe/Berlin" in problem.message
    assert _count_posts(herald, team.org.org_id) == 0


def test_invalid_timezone_is_refused(herald) -> None:
    with pytest.raises(ValidationFailed) as info:
        herald.orgs.create_org("Nowhere", "Mars/Olympus_Mons")
    assert info.value.problems[0].code == "invalid_timezone"


def test_another_orgs_post_is_not_found(herald, team: Team, other_team: Team) -> None:
    theirs = herald.scheduling.schedule_post(other_team.editor, {
        "content": "Theirs", "platforms": ["twitter"], "scheduled_at": "2026-12-01T10:00:00Z"}).post
    for call in (
        lambda: herald.scheduling.get_post(team.admin, theirs.post_id),
        lambda: herald.scheduling.cancel_post(team.admin, theirs.post_id),
        lambda: herald.scheduling.reschedule_post(team.admin, theirs.post_id, "2026-12-02T10:00:00Z"),
        lambda: herald.approvals.approve(team.admin, theirs.post_id),
        lambda: herald.scheduling.get_post(team.admin, "not-a-uuid"),
    ):
        with pytest.raises(NotFound):
            call()
    assert herald.scheduling.get_post(other_team.viewer, theirs.post_id).status == "scheduled"


def test_transitions_that_are_not_allowed_name_both_states(herald, team: Team) -> None:
    post = herald.scheduling.schedule_post(team.editor, {"content": "Bye", "platforms": ["twitter"]}).post
    herald.scheduling.cancel_post(team.editor, post.post_id)
    with pytest.raises(InvalidTransition) as info:
        herald.scheduling.cancel_post(team.editor, post.post_id)
    assert "cancelled" in info.value.message


def test_roles_are_enforced_in_the_services(herald, team: Team) -> None:
    with pytest.raises(Forbidden, match="viewer"):
        herald.scheduling.schedule_post(team.viewer, {"content": "Hi", "platforms": ["twitter"]})
    post = herald.scheduling.schedule_post(team.editor, {"content": "Mine", "platforms": ["twitter"]}).post
    other_editor = team.add_user(herald, "editor")
    with pytest.raises(Forbidden):
        herald.scheduling.update_post(other_editor, post.post_id, {"content": "Not yours"})
    with pytest.raises(Forbidden):
        herald.approvals.approve(team.editor, post.post_id)
    # A manager may edit anyone's post.
    edited = herald.scheduling.update_post(team.manager, post.post_id, {"content": "Edited by manager"})
    assert edited.post.content == "Edited by manager"


def test_editing_platforms_of_a_scheduled_post_keeps_the_queue_in_step(herald, team: Team) -> None:
    post = herald.scheduling.schedule_post(team.editor, {
        "content": "Multi", "platforms": ["twitter", "linkedin"], "scheduled_at": "2026-12-01T10:00:00Z"}).post
    updated = herald.scheduling.update_post(team.editor, post.post_id, {"platforms": ["linkedin", "facebook"]}).post
    states = {q.platform: q.status for q in updated.queue_items}
    assert states == {"twitter": "cancelled", "linkedin": "pending", "facebook": "pending"}


def test_draft_then_schedule_then_unschedule(herald, team: Team) -> None:
    draft = herald.scheduling.schedule_post(team.editor, {"content": "Later", "platforms": ["facebook"]}).post
    assert draft.status == "draft" and draft.queue_items == [] and draft.approval_status == "not_submitted"
    scheduled = herald.scheduling.reschedule_post(team.editor, draft.post_id, "2026-12-03T08:00:00Z").post
    assert scheduled.status == "scheduled" and scheduled.approval_status == "pending"
    assert [q.status for q in scheduled.queue_items] == ["pending"]
    back = herald.scheduling.unschedule_post(team.editor, draft.post_id)
    assert back.status == "draft" and [q.status for q in back.queue_items] == ["cancelled"]


def test_org_without_approval_needs_none(herald) -> None:
    team = Team(herald, approval_required=False)
    post = herald.scheduling.schedule_post(team.editor, {
        "content": "Straight out", "platforms": ["twitter"], "scheduled_at": "2026-12-01T10:00:00Z"}).post
    assert post.approval_status == "not_required"


def test_bulk_schedule_gives_a_result_per_item_and_one_bad_item_does_not_sink_the_rest(herald, team: Team) -> None:
    results = herald.scheduling.bulk_schedule(team.editor, [
        {"content": "Monday motivation", "platforms": ["facebook"], "scheduled_at": "2026-11-30T08:00:00Z"},
        {"content": "", "platforms": ["twitter"], "scheduled_at": "2026-12-01T10:00:00Z"},
        "not an object",
        {"content": "Tech Tuesday", "platforms": ["twitter", "linkedin"], "scheduled_at": "2026-12-01T10:00:00Z"},
        {"content": "Too close", "platforms": ["twitter"], "scheduled_at": "2026-12-01T10:10:00Z"},
    ])
    assert [r.ok for r in results] == [True, False, False, True, False]
    assert results[1].error["code"] == "validation_failed"
    assert results[4].error["code"] == "conflict"
    assert _count_posts(herald, team.org.org_id) == 2
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(PublishingQueueItem)) == 3


def test_idempotency_key_returns_the_first_post(herald, team: Team) -> None:
    data = {"content": "Once", "platforms": ["twitter"], "scheduled_at": "2026-12-01T10:00:00Z"}
    first = herald.scheduling.schedule_post(team.editor, data, idempotency_key="abc-123").post
    again = herald.scheduling.schedule_post(team.editor, data, idempotency_key="abc-123").post
    assert again.post_id == first.post_id
    assert _count_posts(herald, team.org.org_id) == 1


def test_list_posts_filters_and_paginates(herald, team: Team) -> None:
    for i in range(5):
        herald.scheduling.schedule_post(team.editor, {
            "content": f"Post {i}", "platforms": ["twitter" if i % 2 else "linkedin"],
            "scheduled_at": f"2026-12-0{i + 1}T10:00:00Z"})
    page, total = herald.scheduling.list_posts(team.viewer, limit=2)
    assert total == 5 and len(page) == 2
    assert page[0].scheduled_at > page[1].scheduled_at
    twitter, total_tw = herald.scheduling.list_posts(team.viewer, platform="twitter")
    assert total_tw == 2 and all("twitter" in p.platforms for p in twitter)
    drafts, none = herald.scheduling.list_posts(team.viewer, status="draft")
    assert drafts == [] and none == 0


def test_every_change_is_audited(herald, team: Team) -> None:
    post = herald.scheduling.schedule_post(team.editor, {
        "content": "Audit me", "platforms": ["twitter"], "scheduled_at": "2026-12-01T10:00:00Z"}).post
    herald.scheduling.reschedule_post(team.editor, post.post_id, "2026-12-02T10:00:00Z")
    herald.scheduling.cancel_post(team.editor, post.post_id)
    with herald.db.unit_of_work(team.org.org_id, readonly=True) as uow:
        actions = list(uow.session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity_id == str(post.post_id)).order_by(AuditEvent.at)))
    assert set(actions) == {"post.created", "post.rescheduled", "post.cancelled"}
