"""Small form helpers shared by the pages."""

from __future__ import annotations

import streamlit as st


def forget(prefix: str) -> None:
    """Empty a form's widgets (by key prefix) once it was saved. Forms are not cleared on submit,
    so a refused form keeps what was typed."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]
