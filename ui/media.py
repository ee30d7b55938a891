"""Media previews shared by the approvals and library pages."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.domain.rules import media_kind

MAX_PREVIEW_COLUMNS = 3


def media_preview(urls: Sequence[str]) -> None:
    """Images and videos inline (the browser fetches them, not the server), anything else as a link."""
    if not urls:
        return
    columns = st.columns(min(len(urls), MAX_PREVIEW_COLUMNS))
    for i, url in enumerate(urls):
        with columns[i % len(columns)]:
            kind = media_kind(url)
            if kind in ("image", "gif"):
                st.image(url, width="stretch")
            elif kind == "video":
                st.video(url)
            st.caption(f"[{kind} ↗]({url})")
