"""Content library: add, edit, delete, filter, search, templates and hashtag sets."""

from __future__ import annotations

import pytest

from core.errors import Forbidden, NotFound, ValidationFailed
from tests.conftest import NOW, Team


def test_library_crud_filters_and_search(herald, team: Team) -> None:
    lib = herald.library
    tpl = lib.add(team.editor, {"title": "Holiday Campaign Template", "content_type": "template",
                                "content": "Happy Holidays from [COMPANY]! Use code [CODE].",
                                "category": "seasonal"})
    lib.add(team.editor, {"title": "Product shot", "content_type": "image",
                          "media_urls": ["https://cdn.example.com/p.jpg"], "category": "product"})
    tags = lib.add(team.editor, {"title": "Launch tags", "content_type": "hashtag_set",
                                 "hashtags": ["launch", "#Innovation", "launch"]})
    assert tags.hashtags == ["#launch", "#Innovation"]
    assert tpl.placeholders == ["COMPANY", "CODE"]
    assert [i.title for i in lib.list(team.viewer, content_type="template")] == ["Holiday Campaign Template"]
    assert [i.title for i in lib.list(team.viewer, category="Seasonal")] == ["Holiday Campaign Template"]
    assert [i.title for i in lib.list(team.viewer, search="product")] == ["Product shot"]
    assert lib.categories(team.viewer) == ["product", "seasonal"]
    edited = lib.update(team.editor, tpl.content_id, {"category": "holidays"})
    assert edited.category == "holidays" and edited.content == tpl.content
    lib.delete(team.editor, tags.content_id)
    with pytest.raises(NotFound):
        lib.get(team.viewer, tags.content_id)


def test_using_a_template_fills_placeholders_and_counts_the_use(herald, team: Team) -> None:
    tpl = herald.library.add(team.editor, {
        "title": "Promo", "content_type": "template",
        "content": "[COMPANY] turns 10! Code [CODE] at [URL]", "metadata": {"defaults": {"URL": "https://acme.test"}},
        "hashtags": ["birthday"]})
    rendered = herald.library.use_template(team.editor, tpl.content_id, {"CODE": "TEN"})
    assert rendered.content == "Acme turns 10! Code TEN at https://acme.test"
    assert rendered.missing == [] and rendered.hashtags == ["#birthday"]
    partial = herald.library.use_template(team.editor, tpl.content_id, {"COMPANY": "Globex"})
    assert partial.content.startswith("Globex turns 10! Code [CODE]") and partial.missing == ["CODE"]
    item = herald.library.get(team.viewer, tpl.content_id)
    assert item.usage_count == 2 and item.last_used_at == NOW
    # The rendered text schedules like any other post, linked to its template.
    post = herald.scheduling.schedule_post(team.editor, {
        "content": rendered.content, "platforms": ["facebook"], "content_library_id": str(tpl.content_id)}).post
    assert post.content_library_id == tpl.content_id


def test_library_bad_input_and_roles(herald, team: Team) -> None:
    with pytest.raises(ValidationFailed) as info:
        herald.library.add(team.editor, {"title": "", "content_type": "gif", "media_urls": ["http://x/y.png"]})
    fields = {p.field for p in info.value.problems}
    assert {"title", "content_type", "media_urls"} <= fields
    with pytest.raises(ValidationFailed, match="hashtag"):
        herald.library.add(team.editor, {"title": "Empty set", "content_type": "hashtag_set"})
    with pytest.raises(Forbidden):
        herald.library.add(team.viewer, {"title": "Nope", "content_type": "text", "content": "x"})
    mine = herald.library.add(team.editor, {"title": "Mine", "content_type": "text", "content": "x"})
    other = team.add_user(herald, "editor")
    with pytest.raises(Forbidden):
        herald.library.delete(other, mine.content_id)
    herald.library.delete(team.manager, mine.content_id)


def test_library_is_scoped_to_the_org(herald, team: Team, other_team: Team) -> None:
    theirs = herald.library.add(other_team.editor, {"title": "Secret", "content_type": "text", "content": "x"})
    assert herald.library.list(team.viewer) == []
    with pytest.raises(NotFound):
        herald.library.use_template(team.editor, theirs.content_id)
