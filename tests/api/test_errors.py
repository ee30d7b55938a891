"""Every error is one JSON shape with the right status; bad input is never a 500."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.config import Settings
from core.db.engine import Database
from core.db.models import ScheduledPost
from core.services.container import Herald
from tests.api.conftest import BASE, bearer, create_post, in_days, rows
from tests.conftest import FAST_HASHER


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error"} and body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


def test_every_problem_with_a_post_is_listed_at_once(client: TestClient, auth, herald) -> None:
    error = _error(client.post(f"{BASE}/", headers=auth["editor"], json={
        "content": "x" * 300, "platforms": ["twitter", "instagram"],
        "media_urls": ["http://example.com/a.jpg"], "scheduled_at": "2020-01-01T09:00:00Z"}),
        422, "validation_failed")
    problems = {(d.get("platform"), d["field"], d["code"]) for d in error["details"]}
    assert ("twitter", "content", "too_long") in problems
    assert (None, "scheduled_at", "in_past") in problems
    assert any(field.startswith("media_urls") and code == "invalid_url" for _, field, code in problems)
    assert len(error["details"]) >= 3
    assert rows(herald, ScheduledPost) == []


@pytest.mark.parametrize(("params", "fields"), [
    ({"per_page": 0}, {"per_page"}),
    ({"per_page": 101, "page": 0}, {"per_page", "page"}),
    ({"platform": "myspace", "status": "lost"}, {"platform", "status"}),
    ({"page": "two"}, {"page"}),
])
def test_bad_list_parameters_are_422s_naming_each_one(client: TestClient, auth, params, fields) -> None:
    error = _error(client.get(f"{BASE}/", params=params, headers=auth["viewer"]), 422, "validation_failed")
    assert {d["field"] for d in error["details"]} == fields
    assert {d["location"] for d in error["details"]} == {"query"}


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/calendar", {"start_date": "2026-13-01"}, "start_date"),
    ("/calendar", {"start_date": "yesterday"}, "start_date"),
    ("/calendar", {"start_date": "2026-12-10", "end_date": "2026-12-01"}, "end_date"),
    ("/calendar", {"start_date": "2026-01-01", "end_date": "2027-06-01"}, "end_date"),
    ("/calendar", {"start_date": "0001-01-01", "end_date": "0001-01-02"}, "start_date"),
    ("/gaps", {"start_date": "9999-12-31"}, "start_date"),
    ("/calendar/overview", {"year": 1900, "month": 1}, "year"),
    ("/calendar/overview", {"year": 2026, "month": 13}, "month"),
    ("/best-times", {"platform": "myspace"}, "platform"),
    ("/suggest-time", {"preferred_date": "2020-01-01"}, "preferred_date"),
    ("/suggest-time", {"preferred_date": "2099-01-01"}, "preferred_date"),
    ("/conflicts", {"scheduled_at": "soon", "platforms": ["twitter"]}, "scheduled_at"),
    ("/conflicts", {"scheduled_at": "9999-12-31T23:59:59-12:00", "platforms": ["twitter"]}, "scheduled_at"),
    ("/conflicts", {"scheduled_at": "2026-12-01T09:00"}, "platforms"),
    ("/export.csv", {"end_date": "2026-02-30"}, "end_date"),
    ("/content-library", {"content_type": "poem"}, "content_type"),
])
def test_bad_query_values_are_422s_not_500s(client: TestClient, auth, path: str, params, field: str) -> None:
    error = _error(client.get(f"{BASE}{path}", params=params, headers=auth["viewer"]), 422, "validation_failed")
    assert field in {d["field"] for d in error["details"]}


@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "invalid_json"),
    (b"\xc3\x28", "invalid_body"),  # not UTF-8
])
def test_a_body_that_is_not_json_is_a_422(client: TestClient, auth, body: bytes, code: str) -> None:
    response = client.post(f"{BASE}/", content=body,
                           headers={**auth["editor"], "Content-Type": "application/json"})
    error = response.json()["error"]
    assert response.status_code == 422 and error["details"][0]["code"] == code


def test_wrong_types_and_unknown_fields_are_all_listed(client: TestClient, auth) -> None:
    error = _error(client.post(f"{BASE}/", headers=auth["editor"], json={
        "content": 5, "platforms": "twitter", "colour": "blue", "title": "t" * 300}), 422, "validation_failed")
    assert {d["field"] for d in error["details"]} >= {"content", "platforms", "colour", "title"}


def test_nul_characters_are_refused_before_the_database(client: TestClient, auth, herald) -> None:
    error = _error(client.post(f"{BASE}/", headers=auth["editor"], json={
        "content": "fine", "hashtags": ["#a\x00b"], "platforms": ["linkedin"]}), 422, "validation_failed")
    assert error["details"][0]["field"] == "hashtags"
    query = _error(client.get(f"{BASE}/content-library", params={"category": "a\x00"}, headers=auth["viewer"]),
                   422, "validation_failed")
    assert query["details"][0]["field"] == "category"
    assert rows(herald, ScheduledPost) == []


def test_unknown_routes_and_methods_use_the_error_shape(client: TestClient, auth) -> None:
    _error(client.get("/api/social/nothing-here", headers=auth["viewer"]), 404, "not_found")
    wrong = client.delete(f"{BASE}/calendar", headers=auth["viewer"])
    _error(wrong, 405, "method_not_allowed")
    assert wrong.headers["Allow"] == "GET"


def test_a_transition_the_post_cannot_make_is_a_409(client: TestClient, auth) -> None:
    made = create_post(client, auth["editor"], scheduled_at=in_days(2))
    client.post(f"{BASE}/{made['post_id']}/cancel", headers=auth["editor"])
    error = _error(client.post(f"{BASE}/{made['post_id']}/reschedule", headers=auth["editor"],
                               json={"scheduled_at": in_days(3)}), 409, "invalid_transition")
    assert "cancelled" in error["message"]


class _Exploding:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("secret internals: password=hunter2")


def test_an_unexpected_failure_is_a_500_in_the_shape_without_internals(herald: Herald, auth) -> None:
    broken = dataclasses.replace(herald, calendar=_Exploding())
    with TestClient(create_app(broken, rate_limit=None), raise_server_exceptions=False) as client:
        response = client.get(f"{BASE}/stats", headers=auth["viewer"])
    error = _error(response, 500, "internal_error")
    assert "hunter2" not in response.text and "Traceback" not in response.text and error["details"] == []


def test_a_database_that_is_down_is_a_503_and_health_says_so(herald: Herald, clock) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"
    settings: Settings = herald.settings.model_copy(update={"database_url": url})
    down = Herald.create(settings, clock=clock, db=Database(url), hasher=FAST_HASHER)
    try:
        with TestClient(create_app(down, rate_limit=None)) as client:
            _error(client.get(f"{BASE}/stats", headers=bearer("hrld_" + "a" * 40)), 503, "service_unavailable")
            health = client.get("/api/health")
    finally:
        down.close()
    assert _error(health, 503, "unhealthy")["details"][0]["database"] == "unreachable"
    assert health.headers["Retry-After"]
