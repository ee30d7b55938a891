"""Idempotency-Key on creates: a retry returns the first response and creates nothing new, even
from another process (another app and container over the same database) or after a crash."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.db.models import ContentLibraryItem, IdempotencyKey, ScheduledPost
from core.errors import Conflict
from core.services.container import Herald
from core.services.idempotency import KEEP_KEYS, LEASE, request_fingerprint
from tests.api.conftest import BASE, in_days, rows
from tests.conftest import FAST_HASHER, Team

POST = {"content": "Exactly once #once", "platforms": ["linkedin", "twitter"], "scheduled_at": in_days(2)}


def _create(client: TestClient, headers: dict[str, str], key: str, body: dict = POST):  # type: ignore[no-untyped-def]
    return client.post(f"{BASE}/", json=body, headers={**headers, "Idempotency-Key": key})


def test_a_retried_create_returns_the_first_post_and_creates_nothing(client: TestClient, auth, herald) -> None:
    first = _create(client, auth["editor"], "order-1")
    again = _create(client, auth["editor"], "order-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(rows(herald, ScheduledPost, ScheduledPost.content == "Exactly once #once")) == 1
    other = _create(client, auth["editor"], "order-2", {**POST, "scheduled_at": in_days(4)})
    assert other.json()["post"]["post_id"] != first.json()["post"]["post_id"]


def test_the_key_holds_across_processes(client: TestClient, auth, herald: Herald, clock) -> None:
    """Another API process: its own app, container and connection pool, the same database."""
    first = _create(client, auth["editor"], "cross-process")
    elsewhere = Herald.create(herald.settings, clock=clock, hasher=FAST_HASHER)
    try:
        with TestClient(create_app(elsewhere, rate_limit=None)) as other_process:
            again = _create(other_process, auth["editor"], "cross-process")
    finally:
        elsewhere.close()
    assert again.status_code == 201 and again.json() == first.json()
    assert len(rows(herald, ScheduledPost, ScheduledPost.content == "Exactly once #once")) == 1


def test_the_same_key_with_another_body_is_refused(client: TestClient, auth, herald) -> None:
    _create(client, auth["editor"], "reused")
    refused = _create(client, auth["editor"], "reused", {**POST, "content": "Something else"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["code"] == "idempotency_key_reused"
    assert rows(herald, ScheduledPost, ScheduledPost.content == "Something else") == []
    # Another user of the org with the same key and body is another request too.
    other_user = _create(client, auth["manager"], "reused")
    assert other_user.status_code == 422


def test_a_failed_request_lets_its_key_go(client: TestClient, auth, herald) -> None:
    bad = _create(client, auth["editor"], "fix-and-retry", {**POST, "scheduled_at": "2020-01-01T00:00:00Z"})
    assert bad.status_code == 422
    fixed = _create(client, auth["editor"], "fix-and-retry")
    assert fixed.status_code == 201
    assert len(rows(herald, IdempotencyKey, IdempotencyKey.key == "fix-and-retry")) == 1


def test_keys_belong_to_an_org(client: TestClient, auth, other_auth, herald) -> None:
    ours = _create(client, auth["editor"], "shared-key")
    theirs = _create(client, other_auth["editor"], "shared-key")
    assert theirs.status_code == 201 and theirs.json()["post"]["post_id"] != ours.json()["post"]["post_id"]


@pytest.mark.parametrize("key", ["has space", "", "x" * 201, "tab\there"])
def test_a_malformed_key_is_a_422(client: TestClient, auth, herald, key: str) -> None:
    response = client.post(f"{BASE}/", json=POST, headers={**auth["editor"], "Idempotency-Key": key})
    assert response.status_code == 422
    assert rows(herald, ScheduledPost) == []


def test_a_retried_bulk_create_returns_the_first_results(client: TestClient, auth, herald) -> None:
    body = {"posts": [{"content": "Bulk one", "platforms": ["linkedin"], "scheduled_at": in_days(2)},
                      {"content": "Bulk two", "platforms": ["linkedin"], "scheduled_at": in_days(2, hour=9)},
                      {"content": "Bulk three", "platforms": ["facebook"], "scheduled_at": in_days(3)}]}
    headers = {**auth["editor"], "Idempotency-Key": "bulk-1"}
    first = client.post(f"{BASE}/bulk", json=body, headers=headers)
    assert first.status_code == 200
    assert (first.json()["created"], first.json()["failed"]) == (2, 1)
    assert first.json()["results"][1]["error"]["code"] == "conflict"  # same hour as the first
    again = client.post(f"{BASE}/bulk", json=body, headers=headers)
    assert again.json() == first.json()
    assert len(rows(herald, ScheduledPost, ScheduledPost.content.like("Bulk %"))) == 2


def test_a_retried_library_create_adds_one_item(client: TestClient, auth, herald) -> None:
    body = {"title": "Signature", "content_type": "text", "content": "Best, the team"}
    headers = {**auth["editor"], "Idempotency-Key": "lib-1"}
    first = client.post(f"{BASE}/content-library", json=body, headers=headers)
    again = client.post(f"{BASE}/content-library", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert len(rows(herald, ContentLibraryItem)) == 1


def test_a_request_still_running_holds_its_key(herald: Herald, team: Team) -> None:
    def run_again() -> tuple[int, dict]:
        return herald.idempotency.run(team.editor, "busy", {"same": True}, lambda: (201, {"inner": True})).body

    with pytest.raises(Conflict, match="still being processed"):
        herald.idempotency.run(team.editor, "busy", {"same": True}, lambda: (201, run_again()))
    # The failed outer request let the key go: it can run now.
    assert herald.idempotency.run(team.editor, "busy", {"same": True}, lambda: (201, {"ok": 1})).body == {"ok": 1}


def test_after_a_crash_the_retry_finds_the_post_the_first_request_made(
        client: TestClient, auth, herald: Herald, team: Team, clock) -> None:
    """The process died after saving the post and before storing the response: the key is left
    in progress. Once its lease lapses, the retry runs again and finds the post by its key."""
    crashed = _create(client, auth["editor"], "crash")
    post_id = crashed.json()["post"]["post_id"]
    described = {"method": "POST", "path": f"{BASE}/", "body": POST}
    with herald.db.unit_of_work(team.org.org_id) as uow:
        row = uow.session.query(IdempotencyKey).filter_by(key="crash").one()
        assert row.request_fingerprint == request_fingerprint(team.editor, described)
        row.status, row.response_status, row.response_body = "in_progress", None, None
        row.locked_until = clock.now() + LEASE
        uow.commit()
    busy = _create(client, auth["editor"], "crash")
    assert busy.status_code == 409
    clock.advance(LEASE + timedelta(seconds=1))
    retried = _create(client, auth["editor"], "crash")
    assert retried.status_code == 201 and retried.json()["post"]["post_id"] == post_id
    assert len(rows(herald, ScheduledPost, ScheduledPost.post_id == uuid.UUID(post_id))) == 1
    assert len(rows(herald, ScheduledPost, ScheduledPost.content == "Exactly once #once")) == 1


def test_keys_older_than_a_day_are_purged_and_a_late_retry_still_finds_its_post(
    client: TestClient, auth, herald: Herald, clock,
) -> None:
    first = _create(client, auth["editor"], "purge-old")
    clock.advance(KEEP_KEYS + timedelta(hours=1))
    _create(client, auth["editor"], "purge-new", {**POST, "scheduled_at": in_days(5)})

    assert herald.idempotency.purge_expired() == 1
    assert [k.key for k in rows(herald, IdempotencyKey)] == ["purge-new"]
    before = len(rows(herald, ScheduledPost))
    late = _create(client, auth["editor"], "purge-old")  # the key is gone; the post keeps it
    assert late.json()["post"]["post_id"] == first.json()["post"]["post_id"]
    assert len(rows(herald, ScheduledPost)) == before
