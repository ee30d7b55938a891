"""Settings (admins): the organisation's rules, users and roles, API tokens."""

from __future__ import annotations

import streamlit as st

from ui.context import herald_app, require_actor
from ui.settings_view import org_settings_form, tokens_section, users_section

actor = require_actor()
st.title("Settings")
if not actor.can("settings.manage"):
    st.error("Only admins can change the organisation's settings.")
    st.stop()

org = herald_app().orgs.get_org(actor)
organisation, users, tokens = st.tabs(["Organisation", "Users and roles", "API tokens"])
with organisation:
    org_settings_form(actor, org)
with users:
    users_section(actor, org.timezone)
with tokens:
    st.caption("A token lets a script or integration act as the user who created it; admins see "
               "everyone's tokens and can revoke any of them.")
    tokens_section(actor, org.timezone)
