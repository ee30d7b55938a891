"""The service container (one per process) and who is signed in (one per browser session)."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from core.bootstrap import prepare
from core.errors import AuthenticationFailed, HeraldError
from core.services.container import Herald
from core.services.context import Actor
from core.services.data_versions import DataVersions

log = logging.getLogger("herald.ui")

# Session-state keys, in one place.
ACTOR = "herald.actor"
FLASH = "herald.flash"
DATA_VERSION = "herald.data_version"


@st.cache_resource(show_spinner="Starting Herald…")
def herald_app() -> Herald:
    """Migrate (SQLite), seed the demo org on an empty database, and in embedded mode start the
    publishing worker inside this process. Cached: one container per process."""
    herald = prepare()
    if herald.settings.embedded_scheduler_enabled:
        from scheduler_daemon import start_embedded

        start_embedded(herald)
    return herald


def current_actor() -> Actor | None:
    """The signed-in user, re-read each run so a changed role or a deactivation applies at once."""
    actor: Actor | None = st.session_state.get(ACTOR)
    if actor is None:
        return None
    try:
        fresh = herald_app().users.get_actor(actor.user_id)
    except AuthenticationFailed:
        sign_out("Your account is no longer active.")
        return None
    st.session_state[ACTOR] = fresh
    return fresh


def require_actor() -> Actor:
    actor = current_actor()
    if actor is None:
        st.warning("Please sign in.")
        st.stop()
    return actor


def sign_in(email: str, password: str) -> Actor:
    actor = herald_app().users.authenticate(email, password)
    st.session_state[ACTOR] = actor
    return actor


def sign_out(message: str | None = None) -> None:
    st.session_state.pop(ACTOR, None)
    if message:
        flash("info", message)


def flash(kind: str, message: str) -> None:
    """A message shown once, on the next run (survives st.rerun)."""
    st.session_state.setdefault(FLASH, []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop(FLASH, []):
        getattr(st, kind)(message)


def data_versions(actor: Actor) -> DataVersions:
    """The org's data versions, for the cache keys of this page run's reads. Read once per run,
    before the reads (one indexed query), so a change committed by any process (another
    dashboard, the daemon, the API) is seen on the next run, not when a TTL runs out."""
    return herald_app().versions.current(actor)


def changed() -> None:
    """Data was written by this session: drop this process's cached service results at once.
    (Reads keyed by data_versions() would miss anyway; the rest rely on this and their TTL.)"""
    st.cache_data.clear()


def show_error(exc: HeraldError) -> None:
    """Any service error, as the user should read it: the message and every problem listed."""
    st.error(exc.message)
    details: list[dict[str, Any]] = exc.details or []
    for detail in details:
        where = " · ".join(str(detail[k]) for k in ("platform", "field") if detail.get(k))
        st.markdown(f"- **{where or 'problem'}**: {detail.get('message', detail)}")
