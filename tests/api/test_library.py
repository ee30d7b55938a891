"""Content library through the API: add, list, edit, delete, with roles; checked in the database."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from core.db.models import ContentLibraryItem
from tests.api.conftest import BASE, rows
from tests.conftest import Team

TEMPLATE = {"title": "Launch", "content_type": "template", "category": "launches",
            "content": "[PRODUCT] is here from [COMPANY]!", "hashtags": ["launch", "#new"]}


def test_an_editor_adds_lists_edits_and_deletes_an_item(client: TestClient, auth, herald, team: Team) -> None:
    added = client.post(f"{BASE}/content-library", json=TEMPLATE, headers=auth["editor"])
    assert added.status_code == 201
    item = added.json()["item"]
    assert item["placeholders"] == ["PRODUCT", "COMPANY"] and item["hashtags"] == ["#launch", "#new"]
    item_id = uuid.UUID(item["content_id"])
    [saved] = rows(herald, ContentLibraryItem, ContentLibraryItem.content_id == item_id)
    assert (saved.org_id, saved.created_by, saved.category) == (team.org.org_id, team.editor.user_id, "launches")

    listed = client.get(f"{BASE}/content-library", params={"content_type": "template", "category": "LAUNCHES"},
                        headers=auth["viewer"]).json()["items"]
    assert [i["content_id"] for i in listed] == [str(item_id)]
    assert client.get(f"{BASE}/content-library", params={"content_type": "image"},
                      headers=auth["viewer"]).json()["items"] == []

    edited = client.put(f"{BASE}/content-library/{item_id}", json={"category": "evergreen"}, headers=auth["editor"])
    assert edited.status_code == 200 and edited.json()["item"]["category"] == "evergreen"
    assert rows(herald, ContentLibraryItem)[0].category == "evergreen"

    deleted = client.delete(f"{BASE}/content-library/{item_id}", headers=auth["editor"])
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert rows(herald, ContentLibraryItem) == []
    assert client.delete(f"{BASE}/content-library/{item_id}", headers=auth["editor"]).status_code == 404


def test_items_are_checked_whole(client: TestClient, auth, herald) -> None:
    response = client.post(f"{BASE}/content-library", headers=auth["editor"],
                           json={"title": "  ", "content_type": "hashtag_set", "media_urls": ["ftp://x"]})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"title", "hashtags", "media_urls"} <= fields
    assert rows(herald, ContentLibraryItem) == []


def test_only_managers_change_other_peoples_items(client: TestClient, auth, herald, team: Team) -> None:
    item_id = client.post(f"{BASE}/content-library", json=TEMPLATE, headers=auth["manager"]).json()["item"]["content_id"]
    assert client.put(f"{BASE}/content-library/{item_id}", json={"title": "Mine"},
                      headers=auth["editor"]).status_code == 403
    assert client.delete(f"{BASE}/content-library/{item_id}", headers=auth["editor"]).status_code == 403
    assert client.delete(f"{BASE}/content-library/{item_id}", headers=auth["viewer"]).status_code == 403
    assert rows(herald, ContentLibraryItem)[0].title == "Launch"
    assert client.delete(f"{BASE}/content-library/{item_id}", headers=auth["admin"]).status_code == 200
