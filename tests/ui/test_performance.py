"""Performance: filters, figures, tables, the CSV download and the empty state."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import pytest

from tests.ui.test_best_times import open_as_fresh_org

PAGE = "pages/performance.py"


@pytest.mark.parametrize("role", ["admin", "manager", "editor", "viewer"])
def test_performance_renders_for_every_role(app_as, role: str) -> None:  # type: ignore[no-untyped-def]
    at = app_as(role, PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Performance"]


def test_filters_charts_and_csv_download_follow_the_service(app_as, ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    viewer = actor_for("viewer")
    start, end = ui_herald.analytics.default_range(viewer)
    assert (end - start).days == 29  # the last 30 days by default
    at = app_as("viewer", PAGE)
    assert at.date_input[0].value == (start, end)
    assert [m.label for m in at.multiselect] == ["Networks"]
    expected = ui_herald.analytics.performance(viewer, start=start, end=end).totals
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Posts"] == f"{expected['posts']:,}" and metrics["Views"] == f"{expected['views']:,}"
    assert {c.key for c in at.get("plotly_chart")} == {"by-network", "trend", "weekday-hour"}
    downloads = at.get("download_button")
    assert [d.label for d in downloads] == ["Download posts (CSV)", "Download network totals (CSV)"]

    at.multiselect[0].set_value(["linkedin"]).run()
    assert not at.exception
    only = ui_herald.analytics.performance(viewer, start=start, end=end, platforms=["linkedin"]).totals
    assert {m.label: m.value for m in at.metric}["Engagement"] == f"{only['engagement']:,}"
    network_table = next(d.value for d in at.dataframe)
    assert list(network_table["platform"]) == ["LinkedIn"]


def test_the_csv_holds_what_is_shown(ui_herald, actor_for) -> None:  # type: ignore[no-untyped-def]
    from ui.performance_view import csv_of, rows_for_csv

    viewer = actor_for("viewer")
    start, end = ui_herald.analytics.default_range(viewer)
    report = ui_herald.analytics.performance(viewer, start=start, end=end, platforms=["instagram", "tiktok"])
    rows = pd.read_csv(io.BytesIO(csv_of(rows_for_csv(report))))
    assert set(rows["platform"]) <= {"Instagram", "TikTok"} and len(rows) == len(report.network_posts)
    assert rows["engagement"].sum() == report.totals["engagement"]
    assert rows["published_local"].str.contains("GMT|BST").all()


def test_an_empty_range_says_what_to_do(app_as) -> None:  # type: ignore[no-untyped-def]
    at = app_as("viewer", PAGE)
    first = at.date_input[0].value[0] - timedelta(days=3650)
    at.date_input[0].set_value((first, first + timedelta(days=1))).run()
    assert not at.exception
    assert any("No posts were published in this range" in i.value for i in at.info)
    assert not at.get("download_button")


def test_a_new_org_sees_the_empty_state(ui_herald) -> None:  # type: ignore[no-untyped-def]
    at = open_as_fresh_org(ui_herald, PAGE, "viewer")
    assert not at.exception, at.exception
    assert any("No posts were published" in i.value for i in at.info)
