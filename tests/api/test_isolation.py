"""Another organisation's posts and library items do not exist for a token: every endpoint answers
404, exactly as for an id nobody has, and nothing changes in the database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.db.models import (
    Approval,
    AuditEvent,
    ContentLibraryItem,
    PublishingQueueItem,
    ScheduledPost,
)
from tests.api.conftest import BASE, create_post, in_days, rows
from tests.conftest import Team

# (method, path after the post id, body) for every endpoint that takes a post id.
POST_ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("PUT", "", {"content": "Taken over"}),
    ("POST", "/reschedule", {"scheduled_at": in_days(6)}),
    ("POST", "/cancel", None),
    ("POST", "/publish", None),
    ("POST", "/approve", {"comment": "sure"}),
    ("POST", "/reject", {"reason": "no"}),
]


def _snapshot(herald, post_id: uuid.UUID) -> tuple:
    [post] = rows(herald, ScheduledPost, ScheduledPost.post_id == post_id)
    queue = rows(herald, PublishingQueueItem, PublishingQueueItem.scheduled_post_id == post_id)
    return (post.content, post.status, post.approval_status, post.scheduled_at, post.updated_at,
            sorted((q.platform, q.status, q.scheduled_for) for q in queue),
            len(rows(herald, Approval, Approval.post_id == post_id)),
            len(rows(herald, AuditEvent, AuditEvent.entity_id == str(post_id))))


@pytest.mark.parametrize(("method", "suffix", "body"), POST_ENDPOINTS,
                         ids=[f"{m} {{postId}}{s}" for m, s, _ in POST_ENDPOINTS])
def test_another_orgs_post_is_not_found_on_every_post_endpoint(
        client: TestClient, auth, other_auth, herald, method: str, suffix: str, body: Any) -> None:
    theirs = create_post(client, other_auth["editor"], scheduled_at=in_days(2))
    post_id = uuid.UUID(theirs["post_id"])
    before = _snapshot(herald, post_id)
    unknown = str(uuid.uuid4())
    # The other org's admin can do anything in their own org, and nothing here.
    for role in ("admin", "manager"):
        response = client.request(method, f"{BASE}/{post_id}{suffix}", json=body, headers=auth[role])
        expected = client.request(method, f"{BASE}/{unknown}{suffix}", json=body, headers=auth[role])
        assert response.status_code == expected.status_code == 404, response.text
        assert response.json()["error"]["code"] == expected.json()["error"]["code"] == "not_found"
        assert response.json()["error"]["message"].replace(str(post_id), "ID") == \
            expected.json()["error"]["message"].replace(unknown, "ID")
    assert _snapshot(herald, post_id) == before


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "0" * 40, "%00"])
def test_a_malformed_post_id_is_simply_not_found(client: TestClient, auth, bad_id: str) -> None:
    response = client.get(f"{BASE}/{bad_id}", headers=auth["viewer"])
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.post(f"{BASE}/{bad_id}/cancel", headers=auth["admin"]).status_code == 404


def test_lists_and_reads_show_only_the_tokens_org(client: TestClient, auth, other_auth) -> None:
    mine = create_post(client, auth["editor"], content="Ours", scheduled_at=in_days(2))
    create_post(client, other_auth["editor"], content="Theirs", scheduled_at=in_days(2, hour=15))
    listed = client.get(f"{BASE}/", headers=auth["viewer"]).json()
    assert [p["post_id"] for p in listed["posts"]] == [mine["post_id"]] and listed["pagination"]["total"] == 1
    calendar = client.get(f"{BASE}/calendar", params={"start_date": "2026-11-24"}, headers=auth["viewer"]).json()
    assert [p["post_id"] for d in calendar["calendar"] for p in d["posts"]] == [mine["post_id"]]
    assert client.get(f"{BASE}/stats", headers=auth["viewer"]).json()["stats"]["total_scheduled"] == 1
    exported = client.get(f"{BASE}/export.csv", headers=auth["viewer"]).text
    assert "Ours" in exported and "Theirs" not in exported


def test_an_org_id_in_the_body_is_refused_not_obeyed(client: TestClient, auth, herald, other_team: Team) -> None:
    response = client.post(f"{BASE}/", headers=auth["editor"], json={
        "content": "Sneaky", "platforms": ["linkedin"], "org_id": str(other_team.org.org_id)})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "org_id"
    assert rows(herald, ScheduledPost, ScheduledPost.content == "Sneaky") == []


def test_another_orgs_library_item_cannot_be_edited_or_deleted(
        client: TestClient, auth, other_auth, herald) -> None:
    theirs = client.post(f"{BASE}/content-library", headers=other_auth["editor"], json={
        "title": "Their template", "content_type": "text", "content": "Hello"}).json()["item"]
    item_id = theirs["content_id"]
    edit = client.put(f"{BASE}/content-library/{item_id}", headers=auth["admin"], json={"title": "Mine now"})
    delete = client.delete(f"{BASE}/content-library/{item_id}", headers=auth["admin"])
    assert edit.status_code == delete.status_code == 404
    [kept] = rows(herald, ContentLibraryItem, ContentLibraryItem.content_id == uuid.UUID(item_id))
    assert kept.title == "Their template"
    assert client.get(f"{BASE}/content-library", headers=auth["viewer"]).json()["items"] == []
