"""Best times: a heatmap per network, top times, recalculation for managers only."""

from __future__ import annotations

import json
import uuid

import pytest
from streamlit.testing.v1 import AppTest

from core.services.container import Herald
from ui.context import FLASH
from ui.testing import signed_in, switch_to

PAGE = "pages/best_times.py"
FRESH_PASSWORD = "fresh org password 1"  # noqa: S105 - a test user's password


def open_as_fresh_org(herald: Herald, page: str, role: str = "admin") -> AppTest:
    """The app signed in as a user of a brand-new org (no history, no accounts, empty queue)."""
    org = herald.orgs.create_org(f"Fresh {uuid.uuid4().hex[:6]}", "America/New_York")
    email = f"{role}.{uuid.uuid4().hex[:6]}@fresh.test"
    herald.users.create_user(None, org_id=org.org_id, email=email, name="Fresh User", role=role,
                             password=FRESH_PASSWORD)
    return switch_to(signed_in(email, FRESH_PASSWORD), page)


def flashed(at: AppTest, text: str) -> bool:
    """A success message queued for the next run (AppTest stops at st.rerun and runs switched-to
    pages without the frame, so flashes are read from the session)."""
    return any(kind == "success" and text in message for kind, message in at.session_state[FLASH])


def selectbox(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(s for s in at.selectbox if s.label == label)


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_best_times_renders_for_every_role(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Best times"]


def test_heatmap_shows_the_chosen_network_with_sample_sizes_on_hover(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as("viewer", PAGE)
    selectbox(at, "Network").select("linkedin").run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert [c.key for c in charts] == ["heatmap-linkedin"]
    figure = json.loads(charts[0].proto.spec)
    trace = figure["data"][0]
    assert trace["type"] == "heatmap"
    assert len(trace["z"]) == 7 and all(len(row) == 24 for row in trace["z"])
    assert "post(s) in this hour" in trace["hovertemplate"]
    assert "Europe/London" in figure["layout"]["title"]["text"]
    # The top times read "Tuesday 10:00 AM", each score in the seed's colour band.
    values = [m.value for m in at.markdown]
    heading = next(i for i, v in enumerate(values) if v.startswith("**Top 5 times**"))
    listing = values[heading + 1]
    assert any(f"**{day}" in listing for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                 "Saturday", "Sunday"))
    assert ":00 AM**" in listing or ":00 PM**" in listing
    assert any(colour in listing for colour in ("#16a34a", "#ca8a04", "#dc2626"))
    assert any("Calculated" in c.value and ("GMT" in c.value or "BST" in c.value) for c in at.caption)


def test_a_manager_recalculates_and_a_viewer_cannot(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    viewer = app_as("viewer", PAGE)
    assert "Recalculate best times" not in [b.label for b in viewer.button]

    manager = actor_for("manager")
    before = ui_herald.best_times.get_best_times(manager, "instagram").calculated_at
    at = app_as("manager", PAGE)
    next(b for b in at.button if b.label == "Recalculate best times").click().run()
    assert not at.exception, at.exception
    assert flashed(at, "Best times recalculated from")
    after = ui_herald.best_times.get_best_times(manager, "instagram").calculated_at
    assert after is not None and (before is None or after > before)


def test_a_network_with_too_little_data_says_defaults_are_shown(ui_herald) -> None:  # type: ignore[no-untyped-def]
    at = open_as_fresh_org(ui_herald, PAGE, "viewer")
    assert not at.exception, at.exception
    assert any("Too little data" in w.value and "typical" in w.value for w in at.warning)
    assert any("Not calculated yet" in c.value and "America/New_York" in c.value for c in at.caption)
    assert at.get("plotly_chart")  # the typical pattern is still drawn


def test_the_heatmap_colours_span_the_grids_own_scores() -> None:
    from ui.best_times_view import score_range

    assert score_range([[41.0, 47.5], [44.0, 52.0]]) == (41.0, 52.0)  # one band, still a pattern
    assert score_range([[30.0, 31.0]]) == (28.0, 33.0)  # a flat grid stays flat
    assert score_range([[99.0, 100.0]]) == (97.0, 100.0)
