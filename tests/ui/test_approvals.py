"""Approvals page: review with a preview, approve / reject, N-of-M, self-approval, the author's view."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from core.services.container import Herald
from core.services.context import Actor
from core.services.views import PostView
from ui.context import FLASH

PAGE = "pages/approvals.py"
pytestmark = pytest.mark.usefixtures("fresh_cache")


def pending_post(herald: Herald, author: Actor, title: str | None = None) -> PostView:
    title = title or f"Review me {uuid.uuid4().hex[:6]}"
    draft = herald.scheduling.schedule_post(author, {
        "title": title, "content": f"{title}: our new seasonal blend is here",
        "platforms": ["facebook", "linkedin"], "platform_specific_content": {"linkedin": "LinkedIn version"},
        "media_urls": ["https://sandbox.herald.local/media/blend.jpg?bytes=40000"]}).post
    return herald.approvals.submit(author, draft.post_id)


def buttons(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.label for b in at.button]


def flashed(at) -> str:  # type: ignore[no-untyped-def]
    """The messages queued for the user. (AppTest re-runs only the page after the first run, so
    the frame that shows them does not run again; a browser shows them on the next run.)"""
    return " ".join(message for _, message in at.session_state[FLASH]) if FLASH in at.session_state else ""


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_the_page_renders_for_every_role(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, PAGE)
    assert not at.exception, at.exception
    assert at.title[0].value == "Approvals"


def test_a_manager_sees_the_preview_and_approves(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    editor, manager = actor_for("editor"), actor_for("manager")
    post = pending_post(ui_herald, editor)
    at = app_as("manager", PAGE)
    [card] = [m.value for m in at.markdown if post.title in m.value]
    assert "By **Eddie Editor**" in card and "Facebook" in card and "LinkedIn" in card
    assert "LinkedIn version" in [t.value for t in at.text]
    key = f"approvals.{post.post_id}"
    at.text_area(key=f"{key}.comment").input("Lovely")
    at.button(key=f"{key}.approve").click().run()
    assert not at.exception, at.exception
    assert f"Approved “{post.title}” (1 of 1)" in flashed(at)
    saved = ui_herald.scheduling.get_post(manager, post.post_id)
    assert saved.approval_status == "approved" and saved.approved_by == manager.user_id
    history = ui_herald.approvals.history(manager, post.post_id)
    assert [h.action for h in history][-1] == "post.approved" and history[-1].comment == "Lovely"
    assert f"approvals.{post.post_id}.approve" not in {b.key for b in at.button}  # no longer pending


def test_a_rejection_needs_a_reason_and_the_author_sees_it(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    editor = actor_for("editor")
    post = pending_post(ui_herald, editor)
    at = app_as("manager", PAGE)
    key = f"approvals.{post.post_id}"
    at.button(key=f"{key}.reject").click().run()
    assert any("reject" in e.value.lower() for e in at.error)
    assert ui_herald.scheduling.get_post(editor, post.post_id).approval_status == "pending"
    at.text_area(key=f"{key}.comment").input("Add the opening hours")
    at.button(key=f"{key}.reject").click().run()
    assert not at.exception, at.exception
    saved = ui_herald.scheduling.get_post(editor, post.post_id)
    assert saved.approval_status == "rejected" and saved.rejection_reason == "Add the opening hours"

    mine = app_as("editor", PAGE)
    assert not mine.exception, mine.exception
    assert any("Add the opening hours" in e.value for e in mine.error)
    assert "✍️ Edit in the Composer" in buttons(mine)
    assert "✅ Approve" not in buttons(mine)
    mine.button(key=f"approvals.mine.{post.post_id}.resubmit").click().run()
    assert ui_herald.scheduling.get_post(editor, post.post_id).approval_status == "pending"


def test_several_approvals_show_n_of_m(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    admin, editor, manager = actor_for("admin"), actor_for("editor"), actor_for("manager")
    post = pending_post(ui_herald, editor)
    ui_herald.orgs.update_settings(admin, approvals_needed=2)
    try:
        at = app_as("manager", PAGE)
        key = f"approvals.{post.post_id}"
        assert any(p.proto.text == "0 of 2 approvals" for p in at.get("progress"))
        at.button(key=f"{key}.approve").click().run()
        assert "1 of 2 approvals; 1 more from another reviewer needed" in flashed(at)
        assert ui_herald.scheduling.get_post(manager, post.post_id).approval_status == "pending"
        assert any(p.proto.text == "1 of 2 approvals" for p in at.get("progress"))
        # The same reviewer cannot count twice: the service says so.
        at.button(key=f"{key}.approve").click().run()
        assert any("another reviewer" in e.value for e in at.error)
        second = app_as("admin", PAGE)
        second.button(key=f"{key}.approve").click().run()
        assert f"Approved “{post.title}” (2 of 2)" in flashed(second)
        assert ui_herald.scheduling.get_post(manager, post.post_id).approval_status == "approved"
    finally:
        ui_herald.orgs.update_settings(admin, approvals_needed=1)


def test_self_approval_is_refused_with_the_services_message(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    manager = actor_for("manager")
    post = pending_post(ui_herald, manager)
    at = app_as("manager", PAGE)
    at.button(key=f"approvals.{post.post_id}.approve").click().run()
    assert any("cannot review your own post" in e.value for e in at.error)
    assert ui_herald.scheduling.get_post(manager, post.post_id).approval_status == "pending"


def test_a_viewer_reads_but_cannot_decide(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    post = pending_post(ui_herald, actor_for("editor"))
    at = app_as("viewer", PAGE)
    assert not at.exception, at.exception
    assert any(post.title in m.value for m in at.markdown)
    assert not [b for b in at.button if b.label in ("✅ Approve", "✖️ Reject")]
    assert any("only managers and admins" in c.value for c in at.caption)


def test_history_times_are_in_the_orgs_timezone(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    pending_post(ui_herald, actor_for("editor"))
    at = app_as("manager", PAGE)
    frames = [df.value for df in at.dataframe]
    assert any("When (Europe/London)" in f.columns for f in frames)


def test_sandbox_media_are_named_instead_of_shown_as_broken_images(app_as, ui_herald: Herald,  # type: ignore[no-untyped-def]
                                                                   actor_for: Callable[[str], Actor], fresh_cache) -> None:
    post = pending_post(ui_herald, actor_for("editor"))
    at = app_as("manager", PAGE)
    assert not at.exception, at.exception
    assert any("Sandbox image: **blend.jpg**" in c.value for c in at.caption)
    assert not at.get("imgs")  # a browser cannot load sandbox media: no <img> to show broken
    ui_herald.approvals.reject(actor_for("manager"), post.post_id, "tidy up")
