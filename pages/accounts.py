"""Connected social accounts: status and expiry warnings, connect through OAuth, disconnect."""

from __future__ import annotations

import streamlit as st

from core.domain.platforms import PLATFORM_NAMES, PLATFORMS
from core.errors import HeraldError
from core.services.sandbox_connect import connect_sandbox_account, sandbox_consent_in_process
from ui.accounts_view import ACCOUNTS_URL_PATH, SNAPCHAT_NOTE, account_line, load_accounts
from ui.context import changed, flash, herald_app, require_actor, show_error
from ui.oauth_callback import callback_url
from ui.widgets import platform_label

CONFIRM_DISCONNECT = "accounts.confirm_disconnect"  # session key: the account id awaiting confirmation
OAUTH_LINK = "accounts.oauth_link"  # session key: (platform, authorize URL) of a started connection

actor = require_actor()
app = herald_app()
tz = app.orgs.get_org(actor).timezone
can_manage = actor.can("accounts.manage")
st.title("Accounts")


accounts = load_accounts(actor)
st.caption(f"Herald publishes through these accounts. Times in **{tz}**."
           + ("" if can_manage else " Only admins can connect or disconnect accounts."))
if not [a for a in accounts if a.status == "active"]:
    st.info("No account is connected yet, so nothing can publish. "
            + ("Connect one below." if can_manage else "Ask an admin to connect one."))

for platform in PLATFORMS:
    mine = [a for a in accounts if a.platform == platform]
    with st.container(border=True):
        st.markdown(f"#### {platform_label(platform)}")
        if platform == "snapchat":
            st.info(SNAPCHAT_NOTE, icon="👻")
        if not mine:
            st.caption("Not connected.")
        for account in mine:
            st.markdown(account_line(account, tz))
            if account.warning:
                st.warning(f"@{account.username}: {account.warning}", icon="⚠️")
            if not can_manage or account.status == "revoked":
                continue
            key = str(account.account_id)
            if st.session_state.get(CONFIRM_DISCONNECT) != key:
                if st.button("Disconnect", key=f"disconnect-{key}"):
                    st.session_state[CONFIRM_DISCONNECT] = key
                    st.rerun()
                continue
            st.error(f"Disconnect @{account.username}? Herald revokes its token and stops publishing to it; "
                     "scheduled posts for this network will fail until you reconnect.")
            yes, no = st.columns(2)
            if yes.button("Yes, disconnect", key=f"confirm-{key}", type="primary"):
                st.session_state.pop(CONFIRM_DISCONNECT, None)
                try:
                    view = app.accounts.disconnect(actor, account.account_id)
                except HeraldError as exc:
                    show_error(exc)
                else:
                    changed()
                    flash("success", f"Disconnected @{view.username}. {view.status_reason or ''}".strip())
                    st.rerun()
            if no.button("Keep it", key=f"keep-{key}"):
                st.session_state.pop(CONFIRM_DISCONNECT, None)
                st.rerun()

if can_manage:
    st.subheader("Connect an account")
    platform = st.selectbox("Network", PLATFORMS, format_func=platform_label, key="connect-platform")
    if platform == "snapchat":
        st.caption(SNAPCHAT_NOTE)
    if sandbox_consent_in_process(app.settings):
        st.caption("Sandbox mode: the networks are simulated inside Herald, so Herald accepts the simulated "
                   "consent screen for you and then completes the real OAuth exchange.")
        if st.button("Connect (sandbox)", type="primary"):
            try:
                with st.spinner(f"Connecting {PLATFORM_NAMES[platform]}…"):
                    view = connect_sandbox_account(app.accounts, app.connectors, actor, platform,
                                                   redirect_uri=callback_url(ACCOUNTS_URL_PATH))
            except HeraldError as exc:
                show_error(exc)
            else:
                changed()
                flash("success", f"Connected {PLATFORM_NAMES[platform]} account @{view.username}.")
                st.rerun()
    else:
        if st.button(f"Connect {PLATFORM_NAMES[platform]}", type="primary"):
            try:
                start = app.accounts.start_oauth(actor, platform, callback_url(ACCOUNTS_URL_PATH))
            except HeraldError as exc:
                show_error(exc)
            else:
                st.session_state[OAUTH_LINK] = (platform, start.authorize_url)
        link = st.session_state.get(OAUTH_LINK)
        if link and link[0] == platform:
            st.link_button(f"Continue to {PLATFORM_NAMES[platform]} to allow Herald", link[1], type="primary")
            st.caption("The network asks you to sign in and allow Herald, then sends you back to Herald: sign in "
                       "again as yourself and the account is connected. The link is valid for 15 minutes.")
