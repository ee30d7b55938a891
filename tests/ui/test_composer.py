"""The composer: live checks per network, submit for approval, conflicts before saving,
templates, editing an existing post, publish now needing approval; checked in the database."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.domain.timezones import local_to_utc, to_local
from ui import composer_view as cv

TZ = "Europe/London"


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def fill(at: AppTest, *, title: str, text: str, networks: list[str]) -> AppTest:
    at.text_input(key=cv.TITLE).input(title)
    at.text_area(key=cv.CONTENT).input(text)
    at.multiselect(key=cv.NETWORKS).set_value(networks)
    return at.run()


def posts_titled(herald: Any, actor: Any, title: str) -> list[Any]:
    posts, _ = herald.scheduling.list_posts(actor, limit=500)
    return [p for p in posts if p.title == title]


def told(at: AppTest, kind: str = "success") -> list[str]:
    """Messages of one kind shown, or flashed for the next run (AppTest does not always rerun
    the frame after st.rerun, so a flash may still be waiting in the session)."""
    from ui.context import FLASH

    waiting = at.session_state.get(FLASH, [])
    return [m.value for m in getattr(at, kind)] + [m for k, m in waiting if k == kind]


def far_slot(days: int, hour: int) -> datetime:
    """A local wall time weeks after the demo's upcoming posts, so only the test's posts are near."""
    day = date.today() + timedelta(days=days)
    return datetime.combine(day, time(hour, 0))


@pytest.mark.parametrize("role", ["admin", "manager", "editor"])
def test_writers_get_the_form_and_only_managers_may_publish_now(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, "pages/composer.py")
    assert not at.exception, at.exception
    assert "💾 Save draft" in labels(at) and "📨 Submit for approval" in labels(at)
    assert ("🚀 Publish now" in labels(at)) == (role in ("admin", "manager"))


def test_a_viewer_gets_a_read_only_explanation_instead_of_the_form(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as("viewer", "pages/composer.py")
    assert not at.exception
    assert any("cannot create posts" in i.value for i in at.info)
    assert not at.text_area and "💾 Save draft" not in labels(at)


def test_every_problem_shows_per_network_as_you_type(app_as) -> None:  # type: ignore[no-untyped-def]
    at = fill(app_as("editor", "pages/composer.py"), title="Long one", text="ab " * 116 + "xy",
              networks=["twitter", "facebook", "instagram"])
    errors = [e.value for e in at.error]
    assert any("problem(s) on X" in e and "X allows 280" in e for e in errors)
    assert any("problem(s) on Instagram" in e for e in errors)  # an image post needs an image
    assert not any("on Facebook" in e for e in errors)
    assert any("350 / 280 weighted characters — 70 over" in c.value for c in at.caption)
    # An X-specific variant fixes X only; the preview shows the hashtags appended.
    at.text_area(key=cv.variant_key("twitter")).input("Short for X")
    at.text_input(key=cv.HASHTAGS).input("launch")
    at.run()
    assert not any("on X" in e.value for e in at.error)
    assert "Short for X\n\n#launch" in [t.value for t in at.text]


def test_compose_then_submit_for_approval_writes_a_pending_post(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    title = f"Submit {uuid.uuid4().hex[:6]}"
    at = fill(app_as("editor", "pages/composer.py"), title=title, text="Fresh beans are in", networks=["facebook"])
    at.checkbox(key=cv.TIMED).uncheck().run()
    click(at, "📨 Submit for approval")
    assert not at.exception and not at.error, [e.value for e in at.error]
    [post] = posts_titled(ui_herald, actor_for("editor"), title)
    assert (post.status, post.approval_status, post.platforms) == ("draft", "pending", ["facebook"])
    assert any("Submitted for approval" in m for m in told(at))
    assert at.session_state[cv.EDIT_POST] == str(post.post_id)  # the form now edits the saved post


def test_a_conflicting_time_warns_and_saves_nothing_until_schedule_anyway(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    editor = actor_for("editor")
    wall = far_slot(45, 10)
    ui_herald.scheduling.schedule_post(editor, {"title": "Occupant", "content": "Already here",
                                                "platforms": ["twitter"], "scheduled_at": local_to_utc(wall, TZ)})
    title = f"Clash {uuid.uuid4().hex[:6]}"
    at = fill(app_as("editor", "pages/composer.py"), title=title, text="Clashing post", networks=["twitter"])
    at.date_input(key=cv.DATE).set_value(wall.date())
    at.time_input(key=cv.TIME).set_value(wall.time()).run()
    assert any("minimum gap" in w.value and "Occupant" in w.value for w in at.warning)
    click(at, "🗓️ Schedule")
    assert any("clashes" in e.value for e in at.error)
    assert posts_titled(ui_herald, editor, title) == []
    click(at, "Schedule anyway")
    assert not at.exception
    [post] = posts_titled(ui_herald, editor, title)
    assert post.status == "scheduled" and to_local(post.scheduled_at, TZ).replace(tzinfo=None) == wall
    assert post.approval_status == "pending"  # the demo org requires approval
    assert any("Scheduled" in m and ("GMT" in m or "BST" in m) for m in told(at))


def test_suggest_best_time_offers_three_slots_and_fills_the_time(app_as) -> None:  # type: ignore[no-untyped-def]
    at = fill(app_as("editor", "pages/composer.py"), title="Best", text="When?", networks=["linkedin"])
    at.date_input(key=cv.DATE).set_value(date.today() + timedelta(days=50)).run()
    click(at, "⏰ Suggest best time")
    offers = [b for b in at.button if (b.key or "").startswith(cv.K + "suggestion.")]
    assert len(offers) == 3 and all("score" in b.label for b in offers)
    chosen = offers[0].label
    offers[0].click().run()
    assert at.time_input(key=cv.TIME).value.strftime("%H:%M") in chosen


def test_a_library_template_fills_the_text(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    at = app_as("editor", "pages/composer.py")
    template = next(i for i in ui_herald.library.list(actor_for("editor"), content_type="template")
                    if i.title == "Weekly offer")
    before = template.usage_count
    picker = at.selectbox(key=cv.K + "template")
    picker.select_index(next(i for i, o in enumerate(picker.options) if o.startswith("Weekly offer"))).run()
    at.text_input(key=f"{cv.K}placeholder.{template.content_id}.OFFER").input("2-for-1 flat whites")
    at.text_input(key=f"{cv.K}placeholder.{template.content_id}.DATE").input("Sunday").run()
    click(at, "Use this template")
    assert at.text_area(key=cv.CONTENT).value == "This week at Brightside Coffee: 2-for-1 flat whites. Valid until Sunday!"
    assert "brightside" in at.text_input(key=cv.HASHTAGS).value
    assert ui_herald.library.get(actor_for("editor"), template.content_id).usage_count == before + 1


def test_editing_a_post_by_its_query_parameter_saves_through_update(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    editor = actor_for("editor")
    post = ui_herald.scheduling.schedule_post(editor, {"title": "To edit", "content": "Old words",
                                                       "platforms": ["linkedin"]}).post
    at = app_as("editor", "pages/composer.py")
    at.query_params[cv.QUERY_PARAM] = str(post.post_id)
    at.run()
    assert at.text_area(key=cv.CONTENT).value == "Old words"
    at.text_area(key=cv.CONTENT).input("New words").run()
    at.checkbox(key=cv.TIMED).uncheck().run()
    click(at, "💾 Save draft")
    assert not at.error, [e.value for e in at.error]
    saved = ui_herald.scheduling.get_post(editor, post.post_id)
    assert saved.content == "New words" and saved.status == "draft"


def test_publish_now_needs_approval_first_and_saves_nothing(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    title = f"Now {uuid.uuid4().hex[:6]}"
    at = fill(app_as("manager", "pages/composer.py"), title=title, text="Right now", networks=["facebook"])
    click(at, "🚀 Publish now")
    assert any("needs approval first" in e.value for e in at.error)
    assert posts_titled(ui_herald, actor_for("manager"), title) == []
