"""Planning reads: calendar defaults, stats, conflicts, gaps, best times, suggestions, accounts,
the CSV export and health."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import BASE, create_post, in_days
from tests.conftest import NOW, Team, connect_sandbox_account


def test_the_calendar_defaults_to_this_month_in_the_orgs_timezone(client: TestClient, other_auth, clock) -> None:
    # 02:00 UTC on 1 December is still 30 November in New York (other_team's timezone).
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    body = client.get(f"{BASE}/calendar", headers=other_auth["viewer"]).json()
    assert (body["start_date"], body["end_date"]) == ("2026-11-01", "2026-11-30")
    overview = client.get(f"{BASE}/calendar/overview", headers=other_auth["viewer"]).json()["overview"]
    assert overview["month"] == "November 2026" and overview["timezone"] == "America/New_York"
    only_start = client.get(f"{BASE}/calendar", params={"start_date": "2027-02-10"},
                            headers=other_auth["viewer"]).json()
    assert (only_start["start_date"], only_start["end_date"]) == ("2027-02-10", "2027-02-28")


def test_stats_count_posts_by_state(client: TestClient, auth) -> None:
    create_post(client, auth["editor"], scheduled_at=in_days(2))
    create_post(client, auth["editor"], platforms=["facebook"])
    stats = client.get(f"{BASE}/stats", headers=auth["viewer"]).json()["stats"]
    assert stats == {"total_scheduled": 1, "total_published": 0, "pending_approval": 1, "failed": 0,
                     "drafts": 1, "next_scheduled": in_days(2)}


def test_conflicts_are_reported_for_a_time_and_networks(client: TestClient, auth) -> None:
    made = create_post(client, auth["editor"], platforms=["linkedin"], scheduled_at=in_days(2))
    near = in_days(2).replace("09:00:00", "09:30:00")
    clash = client.get(f"{BASE}/conflicts", params={"scheduled_at": near, "platforms": ["linkedin", "x"]},
                       headers=auth["viewer"]).json()
    assert clash["has_conflicts"] is True
    assert [(c["platform"], c["kind"]) for c in clash["conflicts"]] == [("linkedin", "min_gap")]
    assert clash["conflicts"][0]["posts"][0]["post_id"] == made["post_id"]
    moving_itself = client.get(f"{BASE}/conflicts", headers=auth["viewer"], params={
        "scheduled_at": near, "platforms": ["linkedin"], "exclude_post_id": made["post_id"]}).json()
    assert moving_itself == {"success": True, "has_conflicts": False, "conflicts": []}


def test_gaps_list_empty_days_and_network_days(client: TestClient, auth, herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "linkedin")
    create_post(client, auth["editor"], platforms=["linkedin"], scheduled_at="2026-12-02T10:00:00+00:00")
    gaps = client.get(f"{BASE}/gaps", params={"start_date": "2026-12-01", "end_date": "2026-12-03"},
                      headers=auth["viewer"]).json()["gaps"]
    assert [d["date"] for d in gaps["days"]] == ["2026-12-01", "2026-12-03"]
    assert gaps["platforms"] == ["linkedin"] and gaps["timezone"] == "Europe/London"


def test_best_times_come_best_first_and_suggestions_are_free_future_slots(client: TestClient, auth) -> None:
    grid = client.get(f"{BASE}/best-times", headers=auth["viewer"]).json()
    assert grid["platform"] == "facebook" and grid["is_default"] is True and len(grid["best_times"]) == 168
    scores = [s["engagement_score"] for s in grid["best_times"]]
    assert scores == sorted(scores, reverse=True)
    top = client.get(f"{BASE}/best-times", params={"platform": "x", "limit": 3}, headers=auth["viewer"]).json()
    assert top["platform"] == "twitter" and len(top["best_times"]) == 3

    suggested = client.get(f"{BASE}/suggest-time", params={"platform": "linkedin", "preferred_date": "2026-12-03"},
                           headers=auth["viewer"]).json()["suggested_time"]
    at = datetime.fromisoformat(suggested["scheduled_at"])
    assert at.date().isoformat() == "2026-12-03" and suggested["timezone"] == "Europe/London"
    assert datetime.fromisoformat(suggested["local_time"]) == at


def test_accounts_are_listed_without_tokens(client: TestClient, auth, herald, sandbox, team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "twitter")
    response = client.get(f"{BASE}/accounts", headers=auth["viewer"])
    [account] = response.json()["accounts"]
    assert account["platform"] == "twitter" and account["status"] == "active"
    assert "tok-" not in response.text and "token" not in "".join(account)


def test_the_export_has_a_row_per_post_and_network_with_results(client: TestClient, auth, herald, sandbox,
                                                                team: Team) -> None:
    connect_sandbox_account(herald, sandbox, team, "linkedin")
    made = create_post(client, auth["editor"], platforms=["linkedin", "twitter"], scheduled_at=in_days(2))
    client.post(f"{BASE}/{made['post_id']}/approve", headers=auth["manager"])
    client.post(f"{BASE}/{made['post_id']}/publish", headers=auth["manager"])  # no twitter account: fails
    create_post(client, auth["editor"], content="Draft only", platforms=["facebook"])
    response = client.get(f"{BASE}/export.csv", headers=auth["viewer"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(response.text)))
    by_network = {(r["post_id"], r["platform"]): r for r in exported}
    linkedin = by_network[(made["post_id"], "linkedin")]
    assert linkedin["result_status"] == "published" and linkedin["post_url"].startswith("http")
    assert linkedin["queue_status"] == "completed" and linkedin["views"] != ""
    twitter = by_network[(made["post_id"], "twitter")]
    assert twitter["queue_status"] == "failed" and twitter["error_message"]
    assert len(exported) == 3
    only_drafts = client.get(f"{BASE}/export.csv", params={"status": "draft"}, headers=auth["viewer"]).text
    assert [r["content"] for r in csv.DictReader(io.StringIO(only_drafts))] == ["Draft only"]
    outside = client.get(f"{BASE}/export.csv", params={"start_date": "2027-01-01"}, headers=auth["viewer"]).text
    assert list(csv.DictReader(io.StringIO(outside))) == []


def test_health_reports_the_database_and_the_last_daemon_heartbeat(client: TestClient, herald) -> None:
    quiet = client.get("/api/health").json()
    assert quiet["database"] == "ok" and quiet["last_heartbeat"] is None and quiet["daemons_alive"] == 0
    herald.ops.beat("daemon-1", started_at=NOW - timedelta(minutes=5), processed=3, info={})
    beating = client.get("/api/health").json()
    assert beating["last_heartbeat"] == NOW.isoformat() and beating["daemons_alive"] == 1
