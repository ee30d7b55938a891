"""Bearer tokens: missing, unknown, expired and revoked tokens are 401s; roles are the user's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from core.db.models import ApiToken, ContentLibraryItem, ScheduledPost
from tests.api.conftest import BASE, bearer, create_post, in_days, rows
from tests.conftest import NOW, Team


def _assert_401(response, *, invalid_token: bool) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "unauthenticated"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert ('error="invalid_token"' in challenge) is invalid_token


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_a_request_without_a_bearer_token_is_a_401(client: TestClient, headers: dict[str, str]) -> None:
    _assert_401(client.get(f"{BASE}/", headers=headers), invalid_token=False)


@pytest.mark.parametrize("token", ["hrld_" + "A" * 40, "nonsense", "hrld_short"])
def test_an_unknown_token_is_a_401(client: TestClient, token: str) -> None:
    _assert_401(client.get(f"{BASE}/stats", headers=bearer(token)), invalid_token=True)


def test_expired_and_revoked_tokens_and_deactivated_users_are_refused(
        client: TestClient, herald, team: Team, clock) -> None:
    expiring = herald.api_tokens.create_for_email(team.editor.email, name="short", expires_days=1)[1]
    revoked_view, revoked = herald.api_tokens.create(team.editor, "to revoke")
    manager = herald.api_tokens.create_for_email(team.manager.email, name="manager")[1]
    assert client.get(f"{BASE}/stats", headers=bearer(expiring)).status_code == 200
    assert client.get(f"{BASE}/stats", headers=bearer(revoked)).status_code == 200

    herald.api_tokens.revoke(team.editor, revoked_view.token_id)
    _assert_401(client.get(f"{BASE}/stats", headers=bearer(revoked)), invalid_token=True)
    clock.advance(timedelta(days=1))
    _assert_401(client.get(f"{BASE}/stats", headers=bearer(expiring)), invalid_token=True)
    herald.users.set_active(team.admin, team.manager.user_id, False)
    _assert_401(client.get(f"{BASE}/stats", headers=bearer(manager)), invalid_token=True)


def test_a_token_records_when_it_was_last_used(client: TestClient, herald, team: Team, clock) -> None:
    view, plain = herald.api_tokens.create(team.editor, "ci")
    clock.advance(timedelta(minutes=5))
    client.get(f"{BASE}/stats", headers=bearer(plain))
    [token] = rows(herald, ApiToken, ApiToken.token_id == view.token_id)
    assert token.last_used_at == NOW + timedelta(minutes=5)


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200


def test_a_viewer_cannot_create_and_nothing_is_saved(client: TestClient, auth, herald) -> None:
    response = client.post(f"{BASE}/", headers=auth["viewer"], json={"content": "Viewer's", "platforms": ["linkedin"]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden" and "viewer" in response.json()["error"]["message"]
    assert rows(herald, ScheduledPost, ScheduledPost.content == "Viewer's") == []
    library = client.post(f"{BASE}/content-library", headers=auth["viewer"],
                          json={"title": "T", "content_type": "text", "content": "x"})
    assert library.status_code == 403 and rows(herald, ContentLibraryItem) == []
    bulk = client.post(f"{BASE}/bulk", headers=auth["viewer"],
                       json={"posts": [{"content": "Viewer's", "platforms": ["linkedin"]}]})
    assert bulk.status_code == 403 and rows(herald, ScheduledPost, ScheduledPost.content == "Viewer's") == []


def test_an_editor_cannot_approve_reject_or_publish(client: TestClient, auth, herald) -> None:
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    for action, body in (("approve", None), ("reject", {"reason": "no"}), ("publish", None)):
        response = client.post(f"{BASE}/{made['post_id']}/{action}", headers=auth["editor"], json=body)
        assert response.status_code == 403, action
    [post] = rows(herald, ScheduledPost, ScheduledPost.post_id == uuid.UUID(made["post_id"]))
    assert (post.status, post.approval_status) == ("scheduled", "pending")


def test_an_editor_cannot_edit_someone_elses_post_but_a_manager_can(client: TestClient, auth, herald,
                                                                    team: Team) -> None:
    other_editor = bearer(herald.api_tokens.create(team.add_user(herald, "editor"), "x")[1])
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    refused = client.put(f"{BASE}/{made['post_id']}", headers=other_editor, json={"content": "Mine"})
    assert refused.status_code == 403
    allowed = client.put(f"{BASE}/{made['post_id']}", headers=auth["manager"], json={"content": "Edited"})
    assert allowed.status_code == 200 and allowed.json()["post"]["content"] == "Edited"
