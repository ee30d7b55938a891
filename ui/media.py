"""Media previews shared by the composer, approvals and library pages."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.services.compose import media_previews

MAX_PREVIEW_COLUMNS = 3


def media_preview(urls: Sequence[str]) -> None:
    """Images and videos inline (the browser fetches them, not the server), anything else as a link.

    Sandbox media are simulated bytes on a host no browser can reach, so they are named instead of
    shown as a broken image."""
    previews = media_previews(list(urls))
    if not previews:
        return
    columns = st.columns(min(len(previews), MAX_PREVIEW_COLUMNS))
    for i, media in enumerate(previews):
        with columns[i % len(columns)]:
            if media.is_sandbox:
                st.caption(f"🧪 Sandbox {media.kind}: **{media.name}** (simulated by Herald's sandbox, no preview)")
                continue
            if media.kind in ("image", "gif"):
                st.image(media.url, width="stretch")
            elif media.kind == "video":
                st.video(media.url)
            st.caption(f"[{media.name} ↗]({media.url})")
