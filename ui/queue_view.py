"""Queue page helpers: short-lived cached reads and the tables ops look at."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from core.domain.platforms import PLATFORM_LABELS
from core.services.context import Actor
from core.services.ops import HeartbeatView, QueueItemView
from ui.context import herald_app
from ui.widgets import local_time

# The queue moves every second; a short TTL keeps reruns cheap without hiding real changes
# for long (every action on this page clears the cache anyway).
QUEUE_TTL_SECONDS = 10
LIST_LIMIT = 50


@st.cache_data(ttl=QUEUE_TTL_SECONDS, show_spinner=False)
def load_overview(actor: Actor) -> dict[str, Any]:
    return herald_app().ops.queue_overview(actor)


@st.cache_data(ttl=QUEUE_TTL_SECONDS, show_spinner=False)
def load_items(actor: Actor, statuses: tuple[str, ...], newest_first: bool = True) -> list[QueueItemView]:
    return herald_app().ops.queue_items(actor, statuses=statuses, limit=LIST_LIMIT, newest_first=newest_first)


@st.cache_data(ttl=QUEUE_TTL_SECONDS, show_spinner=False)
def load_heartbeats() -> list[HeartbeatView]:
    return herald_app().ops.heartbeats()


def depth_table(depth: list[dict[str, Any]]) -> pd.DataFrame:
    """Status x network counts, with totals."""
    frame = pd.DataFrame(depth, columns=["status", "platform", "count"])
    frame["platform"] = frame["platform"].map(lambda p: PLATFORM_LABELS.get(p, p))
    table = frame.pivot_table(index="status", columns="platform", values="count", aggfunc="sum",
                              fill_value=0, margins=True, margins_name="Total")
    return table.astype(int)


def counts_by_status(depth: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in depth:
        counts[row["status"]] = counts.get(row["status"], 0) + int(row["count"])
    return counts


def duration_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} days"


# What staging ahead did for a pending item's media, in the queue table.
MEDIA_STATES = {"staged": "uploaded ahead", "staging": "uploading", "failed": "uploads when due"}


def items_table(items: list[QueueItemView], tz: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "Post": i.title, "Network": PLATFORM_LABELS.get(i.platform, i.platform), "Status": i.status,
        "Due": local_time(i.next_attempt_at, tz), "Last attempt": local_time(i.last_attempt_at, tz),
        "Attempts": f"{i.attempts}/{i.max_attempts}", "Network's message": i.error_message or "",
        "Media": MEDIA_STATES.get(i.stage_state or "", "") if i.status == "pending" else "",
    } for i in items])


def item_label(item: QueueItemView, tz: str) -> str:
    return (f"{PLATFORM_LABELS.get(item.platform, item.platform)} · {item.title} · "
            f"{local_time(item.scheduled_for, tz, '%d %b %H:%M')}")


def heartbeats_table(beats: list[HeartbeatView], tz: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "Worker": h.worker_id, "Host": h.host, "PID": h.pid, "State": "🟢 alive" if h.alive else "🔴 stale",
        "Items processed": h.items_processed, "Last seen": local_time(h.last_seen_at, tz, "%d %b %H:%M:%S"),
        "Started": local_time(h.started_at, tz, "%d %b %H:%M"),
        "In flight": h.info.get("in_flight", ""), "Armed (going out within 2 s)": h.info.get("armed", ""),
        "Threads": h.info.get("concurrency", ""),
    } for h in beats])


def circuits_table(circuits: list[dict[str, Any]], tz: str) -> pd.DataFrame:
    def until(value: str | None) -> str:
        return local_time(datetime.fromisoformat(value), tz, "%d %b %H:%M:%S") if value else ""

    return pd.DataFrame([{
        "Worker": c["worker_id"], "Network": PLATFORM_LABELS.get(c["platform"], c["platform"]),
        "State": c.get("state", ""), "Consecutive failures": c.get("failures", 0),
        "Open until": until(c.get("open_until")), "Last error": c.get("last_error") or "",
    } for c in circuits])
