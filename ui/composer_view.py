"""The composer page's pieces: form state, live checks per network, previews, best-time
suggestions and the save actions. Checks come from ``core.services.compose``; saving is the
scheduling service's."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import streamlit as st

from core.domain.platforms import PLATFORMS
from core.domain.timezones import to_local
from core.errors import HeraldError
from core.services.compose import Draft, DraftCheck, NetworkCheck, split_list
from core.services.context import Actor
from core.services.library import LibraryItemView
from core.services.users import OrgView
from core.services.views import PostView, ScheduleResult
from ui.context import changed, flash, herald_app, show_error
from ui.widgets import local_time, platform_label

# Session-state keys (the form's widgets and what the page remembers between runs).
K = "composer."
TITLE, CONTENT, NETWORKS, POST_TYPE = K + "title", K + "content", K + "networks", K + "post_type"
MEDIA, HASHTAGS, MENTIONS = K + "media", K + "hashtags", K + "mentions"
TIMED, DATE, TIME = K + "timed", K + "date", K + "time"
LIBRARY_ID = K + "library_id"
SUGGESTIONS = K + "suggestions"
LOADED = K + "loaded"  # id of the post whose values are in the form
EDIT_POST = K + "edit_post"  # id of the post being edited (set by the calendar too)
QUERY_PARAM = "post"


def variant_key(platform: str) -> str:
    return f"{K}variant.{platform}"


# --- form state ------------------------------------------------------------------------------


def init_form(tz: str, now: datetime) -> None:
    st.session_state.setdefault(TITLE, "")
    st.session_state.setdefault(CONTENT, "")
    st.session_state.setdefault(NETWORKS, [])
    st.session_state.setdefault(POST_TYPE, "")
    for key in (MEDIA, HASHTAGS, MENTIONS):
        st.session_state.setdefault(key, "")
    st.session_state.setdefault(TIMED, True)
    st.session_state.setdefault(DATE, to_local(now, tz).date() + timedelta(days=1))
    st.session_state.setdefault(TIME, time(9, 0))
    for platform in PLATFORMS:
        st.session_state.setdefault(variant_key(platform), "")


def load_post(post: PostView, tz: str) -> None:
    """Put a saved post's values into the form (before its widgets are drawn)."""
    st.session_state[TITLE] = post.title or ""
    st.session_state[CONTENT] = post.content
    st.session_state[NETWORKS] = list(post.platforms)
    st.session_state[POST_TYPE] = post.post_type
    st.session_state[MEDIA] = "\n".join(post.media_urls)
    st.session_state[HASHTAGS] = " ".join(post.hashtags)
    st.session_state[MENTIONS] = " ".join(post.mentions)
    for platform in PLATFORMS:
        st.session_state[variant_key(platform)] = post.platform_specific_content.get(platform, "")
    st.session_state[TIMED] = post.scheduled_at is not None
    if post.scheduled_at is not None:
        local = to_local(post.scheduled_at, tz)
        st.session_state[DATE], st.session_state[TIME] = local.date(), local.time().replace(tzinfo=None)
    st.session_state[LIBRARY_ID] = str(post.content_library_id) if post.content_library_id else None
    st.session_state.pop(SUGGESTIONS, None)
    st.session_state[LOADED] = str(post.post_id)


def start_new_post() -> None:
    """Callback of "New post": forget the edited post and clear the form."""
    keys = [TITLE, CONTENT, NETWORKS, POST_TYPE, MEDIA, HASHTAGS, MENTIONS, TIMED, DATE, TIME,
            LIBRARY_ID, SUGGESTIONS, LOADED, EDIT_POST, *(variant_key(p) for p in PLATFORMS)]
    for key in keys:
        st.session_state.pop(key, None)
    st.query_params.pop(QUERY_PARAM, None)


def edit(post_id: str) -> None:
    """Open ``post_id`` in the form on the next run (and keep the URL shareable)."""
    st.session_state[EDIT_POST] = post_id
    st.session_state.pop(LOADED, None)
    st.query_params[QUERY_PARAM] = post_id


def current_draft() -> Draft:
    networks = tuple(st.session_state.get(NETWORKS) or ())
    return Draft(
        content=st.session_state.get(CONTENT, ""), platforms=networks,
        post_type=st.session_state.get(POST_TYPE) or "", title=st.session_state.get(TITLE, ""),
        media_urls=tuple(split_list(st.session_state.get(MEDIA))),
        hashtags=tuple(split_list(st.session_state.get(HASHTAGS))),
        mentions=tuple(split_list(st.session_state.get(MENTIONS))),
        variants={p: st.session_state.get(variant_key(p), "") for p in networks},
    )


# --- the library -----------------------------------------------------------------------------


@st.cache_data(ttl=1800, show_spinner=False)
def templates(org_id: str, _actor: Actor) -> list[LibraryItemView]:
    return herald_app().library.list(_actor, content_type="template")


def render_template_picker(actor: Actor, org_id: str) -> None:
    items = templates(org_id, actor)
    with st.expander("📚 Start from a library template", expanded=False):
        if not items:
            st.caption("The library has no templates yet; add one on the Library page.")
            return
        item = st.selectbox("Template", items, format_func=lambda i: f"{i.title} (used {i.usage_count}×)",
                            key=K + "template")
        st.caption(item.content or "")
        values = {name: st.text_input(f"[{name}]", key=f"{K}placeholder.{item.content_id}.{name}",
                                      help="Leave empty to use the template's default (COMPANY is your organisation's name)")
                  for name in item.placeholders}
        if st.button("Use this template", key=K + "use_template"):
            try:
                rendered = herald_app().library.use_template(actor, item.content_id, {k: v for k, v in values.items() if v})
            except HeraldError as exc:
                show_error(exc)
                return
            changed()  # its usage count moved
            st.session_state[CONTENT] = rendered.content
            st.session_state[LIBRARY_ID] = str(rendered.content_id)
            if rendered.media_urls:
                st.session_state[MEDIA] = "\n".join(dict.fromkeys(split_list(st.session_state[MEDIA]) + rendered.media_urls))
            if rendered.hashtags:
                st.session_state[HASHTAGS] = " ".join(dict.fromkeys(split_list(st.session_state[HASHTAGS]) + rendered.hashtags))
            if rendered.missing:
                st.warning("Still to fill in the text: " + ", ".join(f"[{m}]" for m in rendered.missing))
            else:
                st.success(f"Started from “{item.title}”.")


# --- live checks and previews ----------------------------------------------------------------


def render_general_problems(check: DraftCheck) -> None:
    if check.general:
        st.error("**The post as a whole**\n" + "\n".join(f"- {p.message}" for p in check.general))


def counter_text(check: NetworkCheck) -> str:
    mark = "✅" if check.ok else "❌"
    over = f" — {check.over_by} over" if check.over_by else ""
    return f"{mark} {check.length} / {check.limit} {check.unit}{over}"


def render_network_tabs(check: DraftCheck) -> None:
    if not check.networks:
        return
    st.caption(" · ".join(f"{platform_label(p)} {counter_text(c)}" for p, c in check.networks.items()))
    tabs = st.tabs([f"{platform_label(p)} {'✅' if c.ok else '❌'}" for p, c in check.networks.items()])
    for tab, (platform, net) in zip(tabs, check.networks.items(), strict=True):
        with tab:
            st.text_area(f"Text for {net.name} (optional)", key=variant_key(platform), height=100,
                         placeholder="Leave empty to use the main text",
                         help=f"Overrides the main text on {net.name} only")
            st.progress(min(net.length / net.limit, 1.0) if net.limit else 0.0, text=counter_text(net))
            if net.problems:
                st.error(f"**{len(net.problems)} problem(s) on {net.name}**\n"
                         + "\n".join(f"- {p.message}" for p in net.problems))
            st.caption(f"Preview on {net.name}" + (" (its own variant)" if net.has_variant else ""))
            with st.container(border=True):
                if net.title:
                    st.markdown(f"**{net.title}**")
                st.text(net.text or "(no text)")


# --- best time -------------------------------------------------------------------------------


def render_best_time(actor: Actor, networks: list[str], day: date | None, today: date, tz: str,
                     exclude: uuid.UUID | None) -> None:
    if not networks:
        return
    cols = st.columns([2, 1])
    platform = cols[0].selectbox("Best time for", networks, format_func=platform_label, key=K + "suggest_for") \
        if len(networks) > 1 else networks[0]
    if cols[1].button("⏰ Suggest best time", key=K + "suggest"):
        try:
            st.session_state[SUGGESTIONS] = herald_app().best_times.suggest_posting_times(
                actor, platform, day if day and day >= today else None, count=3, exclude_post_id=exclude)
        except HeraldError as exc:
            show_error(exc)
    suggestions = st.session_state.get(SUGGESTIONS)
    if suggestions is None:
        return
    if not suggestions:
        st.info("No free slot left on that day (minimum gap and daily cap). Try another date.")
    for index, s in enumerate(suggestions):
        basis = "typical pattern" if s.is_default else f"{s.sample_size} past posts"
        st.button(f"Use {s.local_time:%a %d %b, %H:%M} {s.local_time.tzname()} — score {s.score:.0f} ({basis})",
                  key=f"{K}suggestion.{index}", on_click=_use_suggestion, args=(s.local_time,))


def _use_suggestion(local: datetime) -> None:
    st.session_state[TIMED] = True
    st.session_state[DATE] = local.date()
    st.session_state[TIME] = local.time().replace(tzinfo=None)
    st.session_state.pop(SUGGESTIONS, None)


def render_conflicts(conflicts: list[Any]) -> None:
    for conflict in conflicts:
        clashes = ", ".join(f"“{p['title']}” at {p['local_time']}" for p in conflict.posts)
        st.warning(f"⚠️ {conflict.message}" + (f" — {clashes}" if clashes else ""))


# --- saving ----------------------------------------------------------------------------------


def save(actor: Actor, org: OrgView, post: PostView | None, data: dict[str, Any], *, force: bool = False) -> ScheduleResult | None:
    """Create or update in one service call (one transaction); errors shown, nothing half-saved."""
    scheduling = herald_app().scheduling
    if st.session_state.get(LIBRARY_ID) and post is None:
        data = {**data, "content_library_id": st.session_state[LIBRARY_ID]}
    try:
        if post is None:
            return scheduling.schedule_post(actor, data, force=force)
        return scheduling.update_post(actor, post.post_id, data, force=force)
    except HeraldError as exc:
        show_error(exc)
        return None


def saved(result: ScheduleResult, tz: str, what: str) -> None:
    """After a successful save: say what happened (times in the org's timezone) and reload."""
    post = result.post
    when = f" for {local_time(post.scheduled_at, tz)}" if post.scheduled_at and post.status == "scheduled" else ""
    networks = ", ".join(platform_label(p) for p in post.platforms)
    approval = {"pending": " It waits for a manager's approval before it publishes.",
                "rejected": " It was rejected before; edit it and submit again."}.get(post.approval_status, "")
    flash("success", f"{what} “{post.title or 'Untitled post'}”{when} on {networks}.{approval}")
    for note in result.notes:
        flash("info", note)
    if result.conflicts:
        flash("warning", "Scheduled despite: " + "; ".join(c.message for c in result.conflicts))
    changed()
    edit(str(post.post_id))
    st.rerun()


def publish_now(actor: Actor, post_id: Any, tz: str) -> None:
    try:
        results = herald_app().publishing.publish_post(actor, post_id)
    except HeraldError as exc:
        show_error(exc)
        return
    changed()
    done = [platform_label(p) for p, ok in results.items() if ok]
    failed = [platform_label(p) for p, ok in results.items() if not ok]
    if done:
        flash("success", f"Published now on {', '.join(done)}.")
    if failed:
        flash("error", f"Not published on {', '.join(failed)}: see the post's details in the calendar.")
    edit(str(post_id))
    st.rerun()
