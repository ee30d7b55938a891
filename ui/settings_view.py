"""The settings page's sections: organisation rules, users and roles, API tokens.

Every rule (ranges, valid timezones, passwords, who may change whom) is the services'; the forms
pass what was entered and list every problem the service returns.
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

import streamlit as st

from core.domain.roles import Role
from core.errors import HeraldError
from core.services.api_tokens import TokenView
from core.services.context import Actor
from core.services.users import OrgView, UserView
from ui.context import changed, flash, herald_app, show_error
from ui.forms import forget
from ui.widgets import local_time

NEW_TOKEN = "settings.new_token"  # (name, plain token): shown on the next run only, then gone
ROLES = [r.value for r in Role]
TOKEN_EXPIRY_DAYS = {"Never": None, "30 days": 30, "90 days": 90, "1 year": 365}


@functools.cache
def timezone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


@st.cache_data(ttl=60, show_spinner=False)
def org_users(org_id: str, _actor: Actor) -> list[UserView]:
    return herald_app().users.list_users(_actor)


@st.cache_data(ttl=60, show_spinner=False)
def api_tokens(org_id: str, user_id: str, _actor: Actor) -> list[TokenView]:
    return herald_app().api_tokens.list(_actor)


def _saved(message: str) -> None:
    changed()
    flash("success", message)
    st.rerun()


# --- organisation ----------------------------------------------------------------------------


def org_settings_form(actor: Actor, org: OrgView) -> None:
    zones = timezone_names()
    with st.form("settings.org"):
        name = st.text_input("Organisation name", value=org.name, key="settings.name")
        timezone = st.selectbox("Timezone", zones, key="settings.timezone",
                                index=zones.index(org.timezone) if org.timezone in zones else None,
                                help="Calendars, best times and scheduling read and show times in this zone.")
        st.markdown("**Approval**")
        required = st.checkbox("Posts need approval before they publish", value=org.approval_required,
                               key="settings.approval_required")
        needed = st.selectbox("Approvals needed (distinct reviewers)", [1, 2, 3], key="settings.approvals_needed",
                              index=[1, 2, 3].index(org.approvals_needed) if org.approvals_needed in (1, 2, 3) else 0)
        self_ok = st.checkbox("Managers and admins may approve their own posts", value=org.allow_self_approval,
                              key="settings.self_approval")
        st.markdown("**Publishing limits**")
        cap = st.number_input("Daily cap: posts per network per day", value=org.max_posts_per_platform_per_day,
                              step=1, key="settings.daily_cap", help="1 to 100")
        gap = st.number_input("Minimum gap between posts on one network (minutes)", value=org.min_gap_minutes,
                              step=15, key="settings.min_gap", help="0 to 1440")
        terms = st.text_area("Blocked terms (one per line)", value="\n".join(org.blocked_terms),
                             key="settings.blocked_terms", help="Posts containing any of these are refused.")
        submitted = st.form_submit_button("Save settings", type="primary", key="settings.save")
    if not submitted:
        return
    entered: dict[str, Any] = {
        "name": name, "timezone": timezone, "approval_required": required, "approvals_needed": needed,
        "allow_self_approval": self_ok, "max_posts_per_platform_per_day": int(cap), "min_gap_minutes": int(gap),
        "blocked_terms": [t.strip() for t in terms.splitlines() if t.strip()],
    }
    changes = {k: v for k, v in entered.items() if v != getattr(org, k)}
    if not changes:
        st.info("Nothing changed.")
        return
    try:
        herald_app().orgs.update_settings(actor, **changes)
    except HeraldError as exc:
        show_error(exc)
    else:
        _saved(f"Settings saved ({', '.join(k.replace('_', ' ') for k in changes)}).")


# --- users and roles -------------------------------------------------------------------------


def users_section(actor: Actor, tz: str) -> None:
    users = org_users(str(actor.org_id), actor)
    st.dataframe([{"Name": u.name, "Email": u.email, "Role": u.role, "Active": u.is_active,
                   f"Last sign-in ({tz})": local_time(u.last_login_at, tz)} for u in users],
                 hide_index=True, width="stretch")
    add_user_form(actor)
    by_id = {str(u.user_id): u for u in users}
    st.markdown("**Change a user**")
    user_col, role_col = st.columns(2)
    chosen = user_col.selectbox("User", list(by_id), key="settings.user",
                                format_func=lambda uid: f"{by_id[uid].name} ({by_id[uid].email})")
    if chosen is None:
        return
    user = by_id[chosen]
    role = role_col.selectbox("Role", ROLES, index=ROLES.index(user.role), key=f"settings.user.role.{chosen}")
    role_button, active_button, _ = st.columns([1, 1, 2])
    if role_button.button("Change role", key="settings.user.change_role", disabled=role == user.role):
        _user_action(lambda: herald_app().users.change_role(actor, user.user_id, role),
                     f"{user.name} is now {role}.")
    label = "Deactivate" if user.is_active else "Reactivate"
    if active_button.button(label, key="settings.user.toggle_active"):
        _user_action(lambda: herald_app().users.set_active(actor, user.user_id, not user.is_active),
                     f"{user.name} is {'deactivated: they are signed out and their API tokens stop working' if user.is_active else 'active again'}.")


def _user_action(call: Any, message: str) -> None:
    try:
        call()
    except HeraldError as exc:
        show_error(exc)
    else:
        _saved(message)


def add_user_form(actor: Actor) -> None:
    with st.expander("➕ Add a user"), st.form("settings.add_user"):
        name = st.text_input("Name", key="settings.new_user.name")
        email = st.text_input("Email", key="settings.new_user.email")
        role = st.selectbox("Role", ROLES, index=ROLES.index("editor"), key="settings.new_user.role")
        password = st.text_input("Initial password", type="password", key="settings.new_user.password",
                                 help="At least 8 characters. Share it privately; they can sign in with it at once.")
        if not st.form_submit_button("Add user", key="settings.new_user.submit"):
            return
    try:
        user = herald_app().users.create_user(actor, org_id=actor.org_id, email=email, name=name, role=role,
                                              password=password)
    except HeraldError as exc:
        show_error(exc)
    else:
        forget("settings.new_user.")
        _saved(f"Added {user.name} ({user.email}) as {user.role}.")


# --- API tokens ------------------------------------------------------------------------------


def tokens_section(actor: Actor, tz: str) -> None:
    created = st.session_state.pop(NEW_TOKEN, None)
    if created:
        name, plain = created
        st.success(f"Created the API token “{name}”. Copy it now (the copy button is at the right of the box):")
        st.code(plain, language=None)
        st.warning("This token will not be shown again. Only a fingerprint is stored; if you lose it, "
                   "revoke it and create a new one.")
    create_token_form(actor)
    tokens = api_tokens(str(actor.org_id), str(actor.user_id), actor)
    if not tokens:
        st.info("No API tokens yet. Create one for each script or integration, so each can be revoked alone.")
        return
    now = herald_app().clock.now()
    st.dataframe([{"Name": t.name, "Owner": t.user_email, "Starts with": f"{t.token_prefix}…",
                   "Status": t.status(now), f"Created ({tz})": local_time(t.created_at, tz),
                   "Last used": local_time(t.last_used_at, tz), "Expires": local_time(t.expires_at, tz)}
                  for t in tokens], hide_index=True, width="stretch")
    active = {str(t.token_id): t for t in tokens if t.status(now) == "active"}
    if not active:
        return
    chosen = st.selectbox("Token to revoke", list(active), key="settings.token.revoke_choice",
                          format_func=lambda tid: f"{active[tid].name} ({active[tid].token_prefix}…, {active[tid].user_email})")
    if st.button("Revoke token", key="settings.token.revoke") and chosen:
        try:
            herald_app().api_tokens.revoke(actor, chosen)
        except HeraldError as exc:
            show_error(exc)
        else:
            _saved(f"Revoked “{active[chosen].name}”: it stops working at once.")


def create_token_form(actor: Actor) -> None:
    with st.form("settings.new_token_form"):
        name_col, expiry_col = st.columns([2, 1])
        name = name_col.text_input("Token name", key="settings.token.name", placeholder="e.g. reporting script")
        expiry = expiry_col.selectbox("Expires after", list(TOKEN_EXPIRY_DAYS), key="settings.token.expiry")
        if not st.form_submit_button("Create token", key="settings.token.create"):
            return
    try:
        token, plain = herald_app().api_tokens.create(actor, name, TOKEN_EXPIRY_DAYS[expiry])
    except HeraldError as exc:
        show_error(exc)
        return
    forget("settings.token.name")
    changed()
    st.session_state[NEW_TOKEN] = (token.name, plain)
    st.rerun()
