"""Sign in with email and password; demo mode lists the demo accounts."""

from __future__ import annotations

import streamlit as st

from core.demo_accounts import demo_accounts
from core.domain.platforms import PLATFORM_NAMES
from core.errors import AuthenticationFailed
from core.services.demo import DEMO_PASSWORD
from ui.context import flash, herald_app, sign_in
from ui.oauth_callback import pending_connection

st.title("📣 Herald")
st.caption("Compose once, tailor per network, get it approved, publish at the best time.")

pending = pending_connection()
if pending:
    st.info(f"Sign in to finish connecting the {PLATFORM_NAMES.get(pending.platform, pending.platform)} account "
            f"@{pending.username}. Only the Herald user who started the connection can finish it.", icon="🔗")

with st.form("sign-in"):
    email = st.text_input("Email", placeholder="you@company.com")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    if not email.strip() or not password:
        st.error("Enter your email and password.")
    else:
        try:
            actor = sign_in(email, password)
        except AuthenticationFailed as exc:
            st.error(exc.message)
        else:
            flash("success", f"Signed in as {actor.name} ({actor.role}).")
            st.rerun()

if herald_app().settings.demo_enabled:
    st.divider()
    st.subheader("Demo accounts")
    st.caption(f"Every demo account uses the password `{DEMO_PASSWORD}`. Outside demo mode there are no default passwords.")
    st.table([{"Email": email, "Name": name, "Role": "viewer (analyst)" if role == "viewer" else role}
              for email, name, role in demo_accounts()])
