"""The seed's flows through the API: create -> approve -> publish (to the sandbox networks), reject
and resubmit, reschedule into and around a conflict, and the calendar and monthly overview."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from core.db.models import Approval, PlatformPost, PublishingQueueItem, ScheduledPost
from tests.api.conftest import BASE, create_post, in_days, rows
from tests.conftest import Team, connect_sandbox_account


def test_create_approve_publish_reaches_the_networks(client: TestClient, auth, herald, sandbox, team: Team) -> None:
    for platform in ("twitter", "linkedin"):
        connect_sandbox_account(herald, sandbox, team, platform)
    made = create_post(client, auth["editor"], content="Launch day #winter", scheduled_at=in_days(2))
    assert made["approval_status"] == "pending"

    not_yet = client.post(f"{BASE}/{made['post_id']}/publish", headers=auth["manager"])
    assert not_yet.status_code == 409 and "approval" in not_yet.json()["error"]["message"]

    approved = client.post(f"{BASE}/{made['post_id']}/approve", headers=auth["manager"], json={"comment": "Go"})
    assert approved.status_code == 200
    assert approved.json()["post"]["approval_status"] == "approved"
    assert (approved.json()["approvals_so_far"], approved.json()["approvals_needed"]) == (1, 1)

    published = client.post(f"{BASE}/{made['post_id']}/publish", headers=auth["manager"])
    assert published.status_code == 200
    body = published.json()
    assert body["results"] == {"twitter": True, "linkedin": True}
    assert body["post"]["status"] == "published" and body["post"]["published_at"].endswith("+00:00")
    assert {p["platform"]: bool(p["post_url"]) for p in body["post"]["platform_posts"]} == {
        "twitter": True, "linkedin": True}

    post_id = uuid.UUID(made["post_id"])
    [saved] = rows(herald, ScheduledPost, ScheduledPost.post_id == post_id)
    assert saved.status == "published"
    results = rows(herald, PlatformPost, PlatformPost.scheduled_post_id == post_id)
    assert sorted((r.platform, r.status) for r in results) == [("linkedin", "published"), ("twitter", "published")]
    assert all(r.platform_post_id_external for r in results)
    queue = rows(herald, PublishingQueueItem, PublishingQueueItem.scheduled_post_id == post_id)
    assert {q.status for q in queue} == {"completed"}
    [approval] = rows(herald, Approval, Approval.post_id == post_id)
    assert (approval.decision, approval.comment, approval.reviewer_id) == ("approved", "Go", team.manager.user_id)
    # The networks have exactly one post each.
    assert sorted(p.platform for p in sandbox.posts()) == ["linkedin", "twitter"]


def test_a_rejected_post_keeps_the_reason_and_goes_back_for_approval_when_edited(
        client: TestClient, auth, herald, team: Team) -> None:
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    blank = client.post(f"{BASE}/{made['post_id']}/reject", headers=auth["manager"], json={"reason": "  "})
    assert blank.status_code == 422 and blank.json()["error"]["details"][0]["field"] == "reason"

    rejected = client.post(f"{BASE}/{made['post_id']}/reject", headers=auth["manager"],
                           json={"reason": "Add the price"})
    assert rejected.status_code == 200
    post = rejected.json()["post"]
    assert (post["approval_status"], post["rejection_reason"]) == ("rejected", "Add the price")
    [decision] = rows(herald, Approval, Approval.post_id == uuid.UUID(made["post_id"]))
    assert (decision.decision, decision.comment) == ("rejected", "Add the price")

    edited = client.put(f"{BASE}/{made['post_id']}", headers=auth["editor"],
                        json={"content": "Winter is coming, from 20 EUR #winter"})
    assert edited.json()["post"]["approval_status"] == "pending"
    assert edited.json()["post"]["rejection_reason"] is None


def test_rescheduling_into_a_clash_is_refused_with_the_clash_listed_unless_forced(
        client: TestClient, auth, herald) -> None:
    first = create_post(client, auth["editor"], platforms=["linkedin"], scheduled_at=in_days(3, hour=9))
    second = create_post(client, auth["editor"], platforms=["linkedin"], scheduled_at=in_days(4, hour=9))
    clash = in_days(3, hour=9).replace("09:00:00", "09:20:00")
    refused = client.post(f"{BASE}/{second['post_id']}/reschedule", headers=auth["editor"],
                          json={"scheduled_at": clash})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert error["details"][0]["platform"] == "linkedin" and error["details"][0]["kind"] == "min_gap"
    assert error["details"][0]["posts"][0]["post_id"] == first["post_id"]
    [unmoved] = rows(herald, ScheduledPost, ScheduledPost.post_id == uuid.UUID(second["post_id"]))
    assert unmoved.scheduled_at.isoformat() == in_days(4, hour=9)

    forced = client.post(f"{BASE}/{second['post_id']}/reschedule", headers=auth["editor"],
                         json={"scheduled_at": clash, "force": True})
    assert forced.status_code == 200
    assert forced.json()["post"]["scheduled_at"] == clash
    assert forced.json()["conflicts"][0]["kind"] == "min_gap"


def test_the_calendar_and_the_monthly_overview_show_the_planned_posts(client: TestClient, auth) -> None:
    december = [create_post(client, auth["editor"], content=f"December {d}", platforms=["linkedin"],
                            scheduled_at=f"2026-12-{d:02d}T{h}:00:00+00:00") for d, h in ((1, 10), (1, 14), (15, 10))]
    create_post(client, auth["editor"], content="November", platforms=["twitter"],
                scheduled_at="2026-11-30T10:00:00+00:00")
    response = client.get(f"{BASE}/calendar", headers=auth["viewer"],
                          params={"start_date": "2026-12-01", "end_date": "2026-12-31"})
    assert response.status_code == 200
    days = response.json()["calendar"]
    assert [(d["date"], d["total_posts"]) for d in days] == [("2026-12-01", 2), ("2026-12-15", 1)]
    assert days[0]["day_of_week"] == "Tuesday" and days[0]["posts"][0]["local_time"] == "10:00"
    assert {p["post_id"] for d in days for p in d["posts"]} == {p["post_id"] for p in december}

    overview = client.get(f"{BASE}/calendar/overview", params={"year": 2026, "month": 12},
                          headers=auth["viewer"]).json()["overview"]
    assert overview["month"] == "December 2026" and overview["total_posts"] == 3
    assert overview["status_counts"]["scheduled"] == 3 and overview["platform_counts"] == {"linkedin": 3}
    assert overview["posts_per_day"] == {"2026-12-01": 2, "2026-12-15": 1}
