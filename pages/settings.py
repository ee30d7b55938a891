"""Placeholder until this page is built."""

from __future__ import annotations

import streamlit as st

from ui.context import require_actor

actor = require_actor()
st.title("Settings")
if not actor.can("settings.manage"):
    st.error("Only admins can change the organisation's settings.")
    st.stop()
st.info("This page is being built.")
