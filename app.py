"""Herald's dashboard: the frame (sign-in, navigation by role), nothing else.

Every page is a short script under pages/; all logic lives in core.
"""

from __future__ import annotations

import streamlit as st

from core.demo_accounts import demo_note
from ui.context import current_actor, herald_app, show_flashes, sign_out
from ui.oauth_callback import finish_pending_connection, take_oauth_callback

st.set_page_config(page_title="Herald", page_icon="📣", layout="wide")

app = herald_app()
take_oauth_callback(app)  # a network sent the browser back: usually a fresh, signed-out session
actor = current_actor()

if actor is None:
    page = st.navigation([st.Page("pages/sign_in.py", title="Sign in", icon="🔑", default=True)])
else:
    org = app.orgs.get_org(actor)
    plan = [
        st.Page("pages/calendar.py", title="Calendar", icon="🗓️", default=True),
        st.Page("pages/composer.py", title="Composer", icon="✍️"),
        st.Page("pages/approvals.py", title="Approvals", icon="✅"),
        st.Page("pages/library.py", title="Library", icon="📚"),
    ]
    analyse = [
        st.Page("pages/best_times.py", title="Best times", icon="⏰"),
        st.Page("pages/performance.py", title="Performance", icon="📈"),
    ]
    accounts = st.Page("pages/accounts.py", title="Accounts", icon="🔗")
    operate = [st.Page("pages/queue.py", title="Queue", icon="🚦"), accounts]
    if actor.role == "admin":
        operate.append(st.Page("pages/settings.py", title="Settings", icon="⚙️"))
    with st.sidebar:
        st.markdown(f"**{actor.name}**  \n{actor.email}")
        st.caption(f"Role: {actor.role} · {org.name} · times in {org.timezone}")
        if st.button("Sign out", use_container_width=True):
            sign_out("You are signed out.")
            st.rerun()
        note = demo_note(app.settings)
        if note:
            st.caption(note)
    page = st.navigation({"Plan": plan, "Analyse": analyse, "Operate": operate})
    if finish_pending_connection(app, actor):  # a callback taken before this user signed in
        st.switch_page(accounts)

show_flashes()
page.run()
