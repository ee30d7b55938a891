"""Posts through the API: create, list, read, edit, reschedule, cancel; checked in the database too."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi.testclient import TestClient

from core.db.models import PublishingQueueItem, ScheduledPost
from tests.api.conftest import BASE, create_post, in_days, rows
from tests.conftest import Team


def test_an_editor_creates_a_scheduled_post_with_one_queue_item_per_network(
        client: TestClient, auth, herald, team: Team) -> None:
    response = client.post(f"{BASE}/", headers=auth["editor"], json={
        "title": "Launch", "content": "Our winter range is here #winter",
        "platforms": ["x", "linkedin"], "scheduled_at": in_days(3)})
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    post = body["post"]
    assert post["status"] == "scheduled" and post["platforms"] == ["twitter", "linkedin"]
    assert post["scheduled_at"] == in_days(3) and post["scheduled_at"].endswith("+00:00")
    assert sorted(q["platform"] for q in post["queue_items"]) == ["linkedin", "twitter"]
    assert {q["status"] for q in post["queue_items"]} == {"pending"}

    [saved] = rows(herald, ScheduledPost, ScheduledPost.post_id == uuid.UUID(post["post_id"]))
    assert saved.org_id == team.org.org_id and saved.created_by == team.editor.user_id
    assert saved.scheduled_at == datetime.fromisoformat(in_days(3))
    queue = rows(herald, PublishingQueueItem, PublishingQueueItem.scheduled_post_id == saved.post_id)
    assert sorted((q.platform, q.status) for q in queue) == [("linkedin", "pending"), ("twitter", "pending")]


def test_a_post_without_a_time_is_a_draft_with_no_queue_items(client: TestClient, auth) -> None:
    post = create_post(client, auth["editor"])
    assert post["status"] == "draft" and post["scheduled_at"] is None and post["queue_items"] == []


def test_a_naive_time_is_read_in_the_orgs_timezone_and_the_response_says_so(
        client: TestClient, other_auth, herald) -> None:
    # other_team is in America/New_York: 09:00 there on 1 December is 14:00 UTC.
    response = client.post(f"{BASE}/", headers=other_auth["editor"], json={
        "content": "Good morning, New York", "platforms": ["linkedin"], "scheduled_at": "2026-12-01T09:00"})
    assert response.status_code == 201
    assert response.json()["post"]["scheduled_at"] == "2026-12-01T14:00:00+00:00"
    assert any("America/New_York" in note for note in response.json()["notes"])
    [saved] = rows(herald, ScheduledPost, ScheduledPost.content == "Good morning, New York")
    assert saved.scheduled_at.isoformat() == "2026-12-01T14:00:00+00:00"


def test_a_time_with_an_offset_is_taken_as_given(client: TestClient, auth) -> None:
    post = create_post(client, auth["editor"], scheduled_at="2026-12-01T09:00:00+02:00")
    assert post["scheduled_at"] == "2026-12-01T07:00:00+00:00"


def test_posts_are_listed_newest_first_a_page_at_a_time(client: TestClient, auth) -> None:
    made = [create_post(client, auth["editor"], content=f"Post {i}", platforms=["linkedin"],
                        scheduled_at=in_days(i + 1)) for i in range(5)]
    response = client.get(f"{BASE}/", params={"page": 2, "per_page": 2}, headers=auth["viewer"])
    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"page": 2, "per_page": 2, "total": 5, "total_pages": 3}
    assert [p["post_id"] for p in body["posts"]] == [made[2]["post_id"], made[1]["post_id"]]
    last = client.get(f"{BASE}/", params={"page": 3, "per_page": 2}, headers=auth["viewer"]).json()
    assert [p["post_id"] for p in last["posts"]] == [made[0]["post_id"]]
    beyond = client.get(f"{BASE}/", params={"page": 9, "per_page": 2}, headers=auth["viewer"]).json()
    assert beyond["posts"] == [] and beyond["pagination"]["total"] == 5


def test_posts_are_filtered_by_status_and_network(client: TestClient, auth) -> None:
    scheduled = create_post(client, auth["editor"], platforms=["twitter"], scheduled_at=in_days(2))
    draft = create_post(client, auth["editor"], platforms=["linkedin"])
    by_status = client.get(f"{BASE}/", params={"status": "draft"}, headers=auth["viewer"]).json()
    assert [p["post_id"] for p in by_status["posts"]] == [draft["post_id"]]
    by_alias = client.get(f"{BASE}/", params={"platform": "x"}, headers=auth["viewer"]).json()
    assert [p["post_id"] for p in by_alias["posts"]] == [scheduled["post_id"]]
    assert by_alias["pagination"]["total"] == 1


def test_a_post_is_read_with_its_queue_items(client: TestClient, auth) -> None:
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    response = client.get(f"{BASE}/{made['post_id']}", headers=auth["viewer"])
    assert response.status_code == 200
    assert response.json()["post"] == made


def test_an_edit_is_saved_and_content_changes_need_approval_again(client: TestClient, auth, herald) -> None:
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    approved = client.post(f"{BASE}/{made['post_id']}/approve", headers=auth["manager"])
    assert approved.json()["post"]["approval_status"] == "approved"
    response = client.put(f"{BASE}/{made['post_id']}", headers=auth["editor"],
                          json={"content": "Winter is here, with free delivery"})
    assert response.status_code == 200
    post = response.json()["post"]
    assert post["content"] == "Winter is here, with free delivery" and post["approval_status"] == "pending"
    assert any("approval" in note for note in response.json()["notes"])
    [saved] = rows(herald, ScheduledPost, ScheduledPost.post_id == uuid.UUID(made["post_id"]))
    assert (saved.content, saved.approval_status) == ("Winter is here, with free delivery", "pending")


def test_rescheduling_moves_the_post_and_its_pending_queue_items(client: TestClient, auth, herald) -> None:
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    response = client.post(f"{BASE}/{made['post_id']}/reschedule", headers=auth["editor"],
                           json={"scheduled_at": in_days(5, hour=15)})
    assert response.status_code == 200
    assert response.json()["post"]["scheduled_at"] == in_days(5, hour=15)
    queue = rows(herald, PublishingQueueItem, PublishingQueueItem.scheduled_post_id == uuid.UUID(made["post_id"]))
    assert {q.scheduled_for.isoformat() for q in queue} == {in_days(5, hour=15)}
    assert {q.status for q in queue} == {"pending"}


def test_cancelling_cancels_the_queue_items_and_cannot_be_done_twice(client: TestClient, auth, herald) -> None:
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    response = client.post(f"{BASE}/{made['post_id']}/cancel", headers=auth["editor"])
    assert response.status_code == 200 and response.json()["post"]["status"] == "cancelled"
    queue = rows(herald, PublishingQueueItem, PublishingQueueItem.scheduled_post_id == uuid.UUID(made["post_id"]))
    assert {q.status for q in queue} == {"cancelled"}
    again = client.post(f"{BASE}/{made['post_id']}/cancel", headers=auth["editor"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    assert "cancelled" in again.json()["error"]["message"]
