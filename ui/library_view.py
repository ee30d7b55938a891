"""The library page's pieces: cached reads, the item form, an item's card and its actions.

Rules (who may edit or delete what, what an item needs) are the library service's; the page
only hides controls a role cannot use.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import HeraldError
from core.services.context import Actor
from core.services.data_versions import DataVersions
from core.services.library import CONTENT_TYPES, LibraryItemView
from ui.context import changed, flash, herald_app, show_error
from ui.forms import forget
from ui.media import media_preview
from ui.widgets import local_time

LIBRARY_TTL_SECONDS = 30 * 60
# Session-state keys.
EDITING = "library.editing"
CONFIRM_DELETE = "library.confirm_delete"
COMPOSER_PREFILL = "composer.prefill"  # read by the composer: start a post from this
TYPE_LABELS = {"text": "📝 Text", "image": "🖼️ Image", "video": "🎬 Video", "template": "🧩 Template",
               "hashtag_set": "#️⃣ Hashtag set"}

# --- cached reads (the seed's 30 minutes; keyed by the library's data version) ---------------


def library_items(actor: Actor, versions: DataVersions, content_type: str | None, category: str | None,
                  search: str) -> list[LibraryItemView]:
    return _items(str(actor.org_id), versions.of("library"), content_type, category, search, actor)


def library_categories(actor: Actor, versions: DataVersions) -> list[str]:
    return _categories(str(actor.org_id), versions.of("library"), actor)


@st.cache_data(ttl=LIBRARY_TTL_SECONDS, max_entries=128, show_spinner=False)
def _items(org_id: str, version: tuple[int, ...], content_type: str | None, category: str | None, search: str,
           _actor: Actor) -> list[LibraryItemView]:
    return herald_app().library.list(_actor, content_type=content_type, category=category, search=search)


@st.cache_data(ttl=LIBRARY_TTL_SECONDS, max_entries=64, show_spinner=False)
def _categories(org_id: str, version: tuple[int, ...], _actor: Actor) -> list[str]:
    return herald_app().library.categories(_actor)


# --- permissions as the UI mirrors them -----------------------------------------------------


def can_change(actor: Actor, item: LibraryItemView) -> bool:
    """Editors change their own items; managers and admins any item."""
    return actor.can("library.write") and (item.created_by == actor.user_id or actor.can("library.delete_any"))


# --- the form --------------------------------------------------------------------------------


def item_form(key: str, item: LibraryItemView | None = None) -> dict[str, Any] | None:
    """The fields of a library item; the entered data when submitted, else None."""
    # Not cleared on submit: a refused form keeps what was typed (forget() empties it once saved).
    with st.form(key):
        title = st.text_input("Title", value=item.title if item else "", key=f"{key}.title")
        kind = st.selectbox("Type", list(CONTENT_TYPES), format_func=lambda t: TYPE_LABELS.get(t, t), key=f"{key}.type",
                            index=CONTENT_TYPES.index(item.content_type) if item else 0)
        category = st.text_input("Category", value=(item.category or "") if item else "", key=f"{key}.category",
                                 placeholder="e.g. promotions")
        content = st.text_area("Text", value=(item.content or "") if item else "", key=f"{key}.content",
                               help="Templates can hold placeholders such as [COMPANY], [OFFER] or [DATE]; "
                                    "[COMPANY] fills in the organisation's name.")
        media = st.text_area("Media URLs (one per line)", value="\n".join(item.media_urls) if item else "",
                             key=f"{key}.media", help="https:// links to images or videos")
        hashtags = st.text_input("Hashtags", value=" ".join(item.hashtags) if item else "", key=f"{key}.hashtags",
                                 placeholder="#launch #coffee")
        submitted = st.form_submit_button("Save" if item else "Add to the library", type="primary",
                                          key=f"{key}.submit")
    if not submitted:
        return None
    return {"title": title, "content_type": kind, "category": category, "content": content,
            "media_urls": [u.strip() for u in media.splitlines() if u.strip()], "hashtags": hashtags}


def add_item(actor: Actor) -> None:
    with st.expander("➕ Add a template, media or hashtag set"):
        data = item_form("library.new")
        if data is None:
            return
        try:
            item = herald_app().library.add(actor, data)
        except HeraldError as exc:
            show_error(exc)
        else:
            forget("library.new.")
            changed()
            flash("success", f"Added “{item.title}” to the library.")
            st.rerun()


# --- one item --------------------------------------------------------------------------------


def item_card(actor: Actor, item: LibraryItemView, tz: str) -> None:
    key = f"library.{item.content_id}"
    with st.container(border=True):
        st.markdown(f"**{item.title}** · {TYPE_LABELS.get(item.content_type, item.content_type)}"
                    + (f" · `{item.category}`" if item.category else ""))
        if item.content:
            st.text(item.content)
        if item.hashtags:
            st.caption(" ".join(item.hashtags))
        media_preview(item.media_urls)
        used = f"Used {item.usage_count} time{'' if item.usage_count == 1 else 's'}"
        st.caption(f"{used} · last used {local_time(item.last_used_at, tz)}" if item.last_used_at
                   else f"{used} · never used yet")
        if st.session_state.get(EDITING) == str(item.content_id):
            edit_item(actor, item, key)
            return
        if actor.can("post.create"):
            use_form(actor, item, key)
        if can_change(actor, item):
            item_actions(actor, item, key)


def use_form(actor: Actor, item: LibraryItemView, key: str) -> None:
    """Fill the placeholders (or leave them to the Composer) and start a post from this item."""
    open_ones = [p for p in item.placeholders if p != "COMPANY" and p not in item.metadata.get("defaults", {})]
    with st.form(f"{key}.use", border=bool(open_ones)):
        values = {name: st.text_input(f"[{name}]", key=f"{key}.use.{name}",
                                      placeholder="leave empty to fill in later in the Composer")
                  for name in open_ones}
        if not st.form_submit_button("✍️ Use in composer", key=f"{key}.use.submit"):
            return
    try:
        rendered = herald_app().library.use_template(actor, item.content_id, {k: v for k, v in values.items() if v})
    except HeraldError as exc:
        show_error(exc)
        return
    changed()  # the usage count moved
    st.session_state[COMPOSER_PREFILL] = {"content": rendered.content, "media_urls": rendered.media_urls,
                                          "hashtags": rendered.hashtags,
                                          "content_library_id": str(rendered.content_id)}
    if rendered.missing:
        flash("info", "Fill in " + ", ".join(f"[{m}]" for m in rendered.missing) + " before scheduling.")
    st.switch_page("pages/composer.py")


def item_actions(actor: Actor, item: LibraryItemView, key: str) -> None:
    edit_col, delete_col, _ = st.columns([1, 1, 3])
    if edit_col.button("Edit", key=f"{key}.edit"):
        st.session_state[EDITING] = str(item.content_id)
        st.rerun()
    if st.session_state.get(CONFIRM_DELETE) != str(item.content_id):
        if delete_col.button("Delete", key=f"{key}.delete"):
            st.session_state[CONFIRM_DELETE] = str(item.content_id)
            st.rerun()
        return
    st.warning(f"Delete “{item.title}”? Posts made from it keep their text.")
    yes, no, _ = st.columns([1, 1, 3])
    if yes.button("Yes, delete", type="primary", key=f"{key}.delete.confirm"):
        st.session_state.pop(CONFIRM_DELETE, None)
        try:
            herald_app().library.delete(actor, item.content_id)
        except HeraldError as exc:
            show_error(exc)
        else:
            changed()
            flash("success", f"Deleted “{item.title}”.")
            st.rerun()
    if no.button("Keep it", key=f"{key}.delete.cancel"):
        st.session_state.pop(CONFIRM_DELETE, None)
        st.rerun()


def edit_item(actor: Actor, item: LibraryItemView, key: str) -> None:
    data = item_form(f"{key}.form", item)
    if st.button("Cancel editing", key=f"{key}.edit.cancel"):
        st.session_state.pop(EDITING, None)
        st.rerun()
    if data is None:
        return
    try:
        saved = herald_app().library.update(actor, item.content_id, data)
    except HeraldError as exc:
        show_error(exc)
    else:
        st.session_state.pop(EDITING, None)
        changed()
        flash("success", f"Saved “{saved.title}”.")
        st.rerun()
