"""Placeholder until this page is built."""

from __future__ import annotations

import streamlit as st

from ui.context import require_actor

actor = require_actor()
st.title("queue".capitalize())
st.info("This page is being built.")
