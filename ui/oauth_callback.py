"""The OAuth callback, taken by the frame (app.py) on every run, before sign-in.

Connecting an account sends the browser to the network, which sends it back to the app's root
with ``?code=...&state=...``. That full-page load starts a new Streamlit session, which is not
signed in. So the frame takes the callback first thing, whatever the page and whoever is signed in:
it checks the signed state, exchanges the code at once (codes live seconds to minutes) and keeps
the resulting tokens sealed in this browser session only. The account is stored when the user who
started the connection signs in here (``finish_pending_connection``); anyone else is refused.
See docs/ARCHITECTURE.md, "Connecting accounts".
"""

from __future__ import annotations

import logging

import streamlit as st

from core.domain.platforms import PLATFORM_NAMES
from core.errors import HeraldError, ValidationFailed
from core.services.accounts import PendingConnection
from core.services.container import Herald
from core.services.context import Actor
from ui.context import changed, flash

log = logging.getLogger("herald.ui")

PENDING = "herald.oauth_pending"  # session key: a PendingConnection awaiting its user's sign-in
LOCAL_APP_URL = "http://localhost:8501"
NETWORK_MESSAGE_CHARS = 200


def callback_url(page_path: str) -> str:
    """Where the network sends the browser back: the app's root as the browser reached it (the
    default page of either navigation, signed in or not), from a page at ``page_path``."""
    url = (st.context.url or LOCAL_APP_URL).split("?", 1)[0].rstrip("/")
    return url.removesuffix("/" + page_path)


def take_oauth_callback(app: Herald) -> None:
    """If this run's URL is a network's callback, take it off the URL and handle it."""
    params = st.query_params.to_dict()
    if "state" not in params or not {"code", "error"} & params.keys():
        return
    st.query_params.clear()  # a reload must not replay a spent code
    try:
        started = app.accounts.read_oauth_state(params["state"])
        network = PLATFORM_NAMES.get(started.platform, started.platform)
        if params.get("error"):
            said = (params.get("error_description") or params["error"])[:NETWORK_MESSAGE_CHARS].replace("`", "'")
            flash("warning", f"{network} did not connect the account: `{said}`")
            return
        with st.spinner(f"Finishing the {network} connection…"):
            st.session_state[PENDING] = app.accounts.exchange_oauth_code(state=params["state"],
                                                                         code=params.get("code", ""))
    except HeraldError as exc:
        log.info("OAuth callback refused: %s", exc.message)
        flash("error", f"The account was not connected: {_reason(exc)}")


def pending_connection() -> PendingConnection | None:
    pending: PendingConnection | None = st.session_state.get(PENDING)
    return pending


def finish_pending_connection(app: Herald, actor: Actor) -> bool:
    """Store the account of a taken callback for the signed-in ``actor``; True when one was stored.
    A connection started by someone else is dropped with the reason."""
    pending: PendingConnection | None = st.session_state.pop(PENDING, None)
    if pending is None:
        return False
    network = PLATFORM_NAMES.get(pending.platform, pending.platform)
    try:
        view = app.accounts.complete_oauth(actor, pending)
    except HeraldError as exc:
        flash("error", f"The {network} account @{pending.username} was not connected: {_reason(exc)}")
        return False
    changed()
    flash("success", f"Connected {network} account @{view.username}.")
    return True


def _reason(exc: HeraldError) -> str:
    # A problem's own words ("The sign-in link expired..."), without its field name.
    return "; ".join(p.message for p in exc.problems) if isinstance(exc, ValidationFailed) else exc.message
