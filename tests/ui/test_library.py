"""Library page: browse and filter, create / edit / delete by role, use in the composer."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from core.errors import Forbidden, NotFound
from core.services.container import Herald
from core.services.context import Actor
from core.services.library import LibraryItemView
from ui.library_view import COMPOSER_PREFILL

PAGE = "pages/library.py"
pytestmark = pytest.mark.usefixtures("fresh_cache")


def labels(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.label for b in at.button]


def by_title(herald: Herald, actor: Actor, title: str) -> LibraryItemView:
    [item] = [i for i in herald.library.list(actor, search=title) if i.title == title]
    return item


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_the_page_renders_for_every_role(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, PAGE)
    assert not at.exception, at.exception
    assert any("Weekly offer" in m.value for m in at.markdown)  # the demo library
    assert any(c.value.startswith("Used ") for c in at.caption)


def test_a_viewer_browses_without_edit_controls(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as("viewer", PAGE)
    assert not {"Edit", "Delete", "✍️ Use in composer", "Add to the library"} & set(labels(at))


def test_filters_and_search(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as("viewer", PAGE)
    at.selectbox(key="library.filter.type").select("hashtag_set").run()
    titles = " ".join(m.value for m in at.markdown if m.value.startswith("**"))
    assert "Core hashtags" in titles and "Weekly offer" not in titles
    at.selectbox(key="library.filter.type").select("").run()
    at.selectbox(key="library.filter.category").select("team").run()
    titles = " ".join(m.value for m in at.markdown if m.value.startswith("**"))
    assert "New hire welcome" in titles and "Weekly offer" not in titles
    at.selectbox(key="library.filter.category").select("").run()
    at.text_input(key="library.filter.search").input("no such words anywhere").run()
    assert any("Nothing matches these filters" in i.value for i in at.info)


def test_an_editor_creates_edits_and_deletes_an_item(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    editor = actor_for("editor")
    title = unique("Opening hours")
    at = app_as("editor", PAGE)
    at.text_input(key="library.new.title").input(title)
    at.selectbox(key="library.new.type").select("template")
    at.text_input(key="library.new.category").input("store")
    at.text_input(key="library.new.hashtags").input("hours, coffee")
    at.button(key="library.new.submit").click().run()
    assert any("Write the text" in m.value for m in at.markdown), "every problem is listed"
    at.text_area(key="library.new.content").input("[COMPANY] opens at [TIME] from Monday")
    at.button(key="library.new.submit").click().run()
    assert not at.exception, at.exception
    item = by_title(ui_herald, editor, title)
    assert item.category == "store" and item.hashtags == ["#hours", "#coffee"]
    assert item.placeholders == ["COMPANY", "TIME"]

    key = f"library.{item.content_id}"
    at.run()
    at.button(key=f"{key}.edit").click().run()
    at.text_area(key=f"{key}.form.content").input("[COMPANY] opens at [TIME] every day")
    at.text_area(key=f"{key}.form.media").input("http://not-https.example/x.jpg")
    at.button(key=f"{key}.form.submit").click().run()
    assert any("not an https URL" in m.value for m in at.markdown)
    at.text_area(key=f"{key}.form.media").input("https://sandbox.herald.local/media/hours.jpg?bytes=40000")
    at.button(key=f"{key}.form.submit").click().run()
    assert not at.exception, at.exception
    edited = ui_herald.library.get(editor, item.content_id)
    assert edited.content == "[COMPANY] opens at [TIME] every day"
    assert edited.media_urls == ["https://sandbox.herald.local/media/hours.jpg?bytes=40000"]

    at.button(key=f"{key}.delete").click().run()
    at.button(key=f"{key}.delete.confirm").click().run()
    assert not at.exception, at.exception
    with pytest.raises(NotFound):
        ui_herald.library.get(editor, item.content_id)


def test_editors_change_only_their_own_items_and_managers_any(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    title = unique("Manager's set")
    item = ui_herald.library.add(actor_for("manager"), {"title": title, "content_type": "hashtag_set",
                                                        "hashtags": ["news"]})
    key = f"library.{item.content_id}"
    editor = app_as("editor", PAGE)
    keys = {b.key for b in editor.button}
    assert f"{key}.use.submit" in keys and f"{key}.edit" not in keys and f"{key}.delete" not in keys
    with pytest.raises(Forbidden):  # the service enforces it too, not only the page
        ui_herald.library.update(actor_for("editor"), item.content_id, {"title": "Taken over"})
    demo_item = by_title(ui_herald, actor_for("viewer"), "Core hashtags")  # written by the editor
    manager = app_as("manager", PAGE)
    assert f"library.{demo_item.content_id}.delete" in {b.key for b in manager.button}


def test_use_in_composer_prefills_the_composer_and_counts_the_use(app_as, ui_herald: Herald, actor_for: Callable[[str], Actor]) -> None:  # type: ignore[no-untyped-def]
    editor = actor_for("editor")
    before = by_title(ui_herald, editor, "Weekly offer")
    key = f"library.{before.content_id}"
    at = app_as("editor", PAGE)
    at.text_input(key=f"{key}.use.OFFER").input("two for one on flat whites")
    at.button(key=f"{key}.use.submit").click().run()
    after = ui_herald.library.get(editor, before.content_id)
    assert after.usage_count == before.usage_count + 1 and after.last_used_at is not None
    # The composer may already have taken the prefill; when it is still there it is complete.
    if COMPOSER_PREFILL in at.session_state:
        prefill = at.session_state[COMPOSER_PREFILL]
        assert prefill == {"content": "This week at Brightside Coffee: two for one on flat whites. Valid until [DATE]!",
                           "media_urls": [], "hashtags": ["#brightside", "#coffee"],
                           "content_library_id": str(before.content_id)}
    assert all(f"{key}.use.submit" != b.key for b in at.button), "the page switched to the composer"
