"""Library: reusable templates, media and hashtag sets; start a post from any of them."""

from __future__ import annotations

import streamlit as st

from core.services.library import CONTENT_TYPES
from ui.context import data_versions, herald_app, require_actor
from ui.library_view import TYPE_LABELS, add_item, item_card, library_categories, library_items

ALL = ""

actor = require_actor()
org = herald_app().orgs.get_org(actor)
versions = data_versions(actor)

st.title("Library")
st.caption(f"Templates, media and hashtag sets your team reuses. Times in {org.timezone}.")

if actor.can("library.write"):
    add_item(actor)
else:
    st.caption("You can browse the library; editors, managers and admins add to it.")

type_col, category_col, search_col = st.columns([1, 1, 2])
content_type = type_col.selectbox("Content type", [ALL, *CONTENT_TYPES], key="library.filter.type",
                                  format_func=lambda t: TYPE_LABELS.get(t, "All types"))
category = category_col.selectbox("Category", [ALL, *library_categories(actor, versions)],
                                  key="library.filter.category", format_func=lambda c: c or "All categories")
search = search_col.text_input("Search", key="library.filter.search", placeholder="words in the title or text")

items = library_items(actor, versions, content_type or None, category or None, search.strip())
filtered = bool(content_type or category or search.strip())
if not items:
    st.info("Nothing matches these filters; clear them to see everything." if filtered else
            "The library is empty. Add a template, a media item or a hashtag set above, "
            "then use it in the Composer.")
else:
    st.caption(f"{len(items)} item{'' if len(items) == 1 else 's'}, most used first")
for item in items:
    item_card(actor, item, org.timezone)
