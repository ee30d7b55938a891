"""The calendar: the demo's upcoming posts, filters, details, rescheduling with conflict
warnings before saving (checked in the database), and no edit controls for viewers."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.domain.timezones import local_to_utc, to_local
from ui import calendar_view as cal
from ui.context import changed

TZ = "Europe/London"


def open_week(at: AppTest, day: date) -> AppTest:
    at.radio(key=cal.VIEW).set_value("Week")
    at.date_input(key=cal.ANCHOR).set_value(day)
    return at.run()


def post_buttons(at: AppTest) -> list[Any]:
    return [b for b in at.button if (b.key or "").startswith("calendar.post.")]


def new_post(herald: Any, actor: Any, wall: datetime, platform: str = "linkedin") -> Any:
    data = {"title": f"Cal {uuid.uuid4().hex[:6]}", "content": "Calendar test post", "platforms": [platform],
            "scheduled_at": local_to_utc(wall, TZ)}
    post = herald.scheduling.schedule_post(actor, data).post
    changed()  # written behind the dashboard's back: its cached calendar is stale
    return post


def wall_at(days: int, hour: int) -> datetime:
    return datetime.combine(date.today() + timedelta(days=days), time(hour, 0))


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_every_role_sees_the_month_with_its_overview(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role)
    assert not at.exception, at.exception
    assert any("Europe/London" in c.value for c in at.caption)
    assert [m.label for m in at.metric][:2] == ["Posts this month", "Avg per day"]
    assert post_buttons(at)  # the demo's posts of this month


def test_the_demos_upcoming_posts_are_on_the_calendar(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    upcoming, _ = ui_herald.scheduling.list_posts(actor_for("viewer"), status="scheduled", limit=500)
    first = min((p for p in upcoming if p.title and not p.title.startswith(("Cal ", "Clash", "Occupant"))),
                key=lambda p: p.scheduled_at)
    local = to_local(first.scheduled_at, TZ)
    at = open_week(app_as("viewer"), local.date())
    labels = [b.label for b in post_buttons(at)]
    assert any(local.strftime("%H:%M") in label and "🔵" in label for label in labels), labels


def test_filters_by_network_and_status(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as("manager")
    at.multiselect[0].set_value(["twitter"]).run()
    assert post_buttons(at) and all("𝕏" in b.label for b in post_buttons(at))
    at.multiselect[0].set_value([])
    at.multiselect[1].set_value(["failed"]).run()
    assert post_buttons(at) and all(b.label.startswith("🔴") for b in post_buttons(at))
    at.multiselect[1].set_value(["publishing"]).run()
    assert not post_buttons(at)
    assert any("matching these filters" in i.value for i in at.info)


def test_reschedule_with_the_picker_moves_the_post(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    editor = actor_for("editor")
    post = new_post(ui_herald, editor, wall_at(40, 3))
    at = open_week(app_as("editor"), wall_at(40, 3).date())
    at.button(key=f"calendar.post.{post.post_id}").click().run()
    assert any("Reschedule" in m.value for m in at.markdown)
    target = wall_at(41, 4)
    at.date_input(key=f"calendar.{post.post_id}.date").set_value(target.date())
    at.time_input(key=f"calendar.{post.post_id}.time").set_value(target.time()).run()
    assert not at.warning
    at.button(key=f"calendar.{post.post_id}.reschedule").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    moved = ui_herald.scheduling.get_post(editor, post.post_id)
    assert to_local(moved.scheduled_at, TZ).replace(tzinfo=None) == target
    assert moved.queue_items[0].scheduled_for == moved.scheduled_at


def test_reschedule_into_a_conflict_warns_before_saving(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    editor = actor_for("editor")
    occupant = new_post(ui_herald, editor, wall_at(42, 5), platform="facebook")
    mover = new_post(ui_herald, editor, wall_at(42, 9), platform="facebook")
    at = open_week(app_as("editor"), wall_at(42, 9).date())
    at.button(key=f"calendar.post.{mover.post_id}").click().run()
    at.time_input(key=f"calendar.{mover.post_id}.time").set_value(time(5, 30)).run()
    assert any("minimum gap" in w.value and occupant.title in w.value for w in at.warning)
    button = at.button(key=f"calendar.{mover.post_id}.reschedule")
    assert button.label == "Reschedule anyway"
    assert ui_herald.scheduling.get_post(editor, mover.post_id).scheduled_at == mover.scheduled_at  # not yet
    button.click().run()
    moved = ui_herald.scheduling.get_post(editor, mover.post_id)
    assert to_local(moved.scheduled_at, TZ).time() == time(5, 30)


def test_post_details_show_results_and_viewers_get_no_edit_controls(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    failed, _ = ui_herald.scheduling.list_posts(actor_for("viewer"), status="failed")
    post = failed[0]
    at = open_week(app_as("viewer"), to_local(post.scheduled_at, TZ).date())
    at.button(key=f"calendar.post.{post.post_id}").click().run()
    assert not at.exception
    assert any("duplicate content" in e.value for e in at.error)  # the network's message
    frame = at.dataframe[0].value
    assert "failed" in frame.to_string()
    keys = [b.key or "" for b in at.button]
    assert not any(k.endswith((".reschedule", ".edit", ".cancel")) for k in keys)
    assert len(at.time_input) == 0  # no reschedule picker


def test_edit_in_composer_opens_the_post_in_the_form(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    post = new_post(ui_herald, actor_for("editor"), wall_at(43, 6))
    at = open_week(app_as("editor"), wall_at(43, 6).date())
    at.button(key=f"calendar.post.{post.post_id}").click().run()
    at.button(key=f"calendar.{post.post_id}.edit").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title][:1] == ["Composer"]
    assert at.text_area(key="composer.content").value == "Calendar test post"
    assert at.session_state["composer.edit_post"] == str(post.post_id)
