"""Herald's Streamlit entry point.

The full dashboard (calendar, composer, approvals, library, best times, performance, queue,
accounts, settings) is the next milestone; until then this page shows that the core is up.
"""

from __future__ import annotations

import streamlit as st

from core.bootstrap import prepare


@st.cache_resource
def herald():  # type: ignore[no-untyped-def]
    app = prepare()
    if app.settings.embedded_scheduler_enabled:
        # One publishing worker per dashboard process, so the embedded default needs no daemon.
        from scheduler_daemon import start_embedded

        start_embedded(app)
    return app


st.set_page_config(page_title="Herald", page_icon="📣", layout="wide")
st.title("📣 Herald")
st.info(
    "The dashboard is being built. The core is ready: data model, scheduling, approvals, "
    "calendar, content library and best-time services, usable through `python -m core`."
)
app = herald()
st.write(f"Database: `{app.settings.database_url}` — migrated and reachable.")
st.write(f"Platform mode: **{app.settings.platform_mode}**")
if app.settings.embedded_scheduler_enabled:
    st.write("Scheduler: running inside this process (embedded mode).")
st.caption("Admin commands: `python -m core migrate | create-org | create-user` (see README).")
