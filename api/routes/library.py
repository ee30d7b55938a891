"""Content library: list, add (idempotent with a key), edit and delete templates, media and hashtag sets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from api.deps import ActorDep, HeraldDep
from api.idempotency import IdempotencyKey, respond_once
from api.schemas.common import AUTHENTICATED, Deleted, errors
from api.schemas.library import (
    ContentTypeName,
    LibraryItemCreate,
    LibraryItemOut,
    LibraryItemResponse,
    LibraryItemUpdate,
    LibraryListResponse,
)

router = APIRouter(prefix="/content-library", tags=["content library"])
ItemId = Annotated[str, Path(alias="contentId", description="The item's id (a UUID)")]


@router.get("", response_model=LibraryListResponse, responses=errors(*AUTHENTICATED, 422),
            summary="Library items, most used first")
def list_items(
    herald: HeraldDep, actor: ActorDep,
    content_type: ContentTypeName | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    search: Annotated[str | None, Query(max_length=200, description="Words in the title or text")] = None,
) -> LibraryListResponse:
    items = herald.library.list(actor, content_type=content_type, category=category, search=search)
    return LibraryListResponse(items=[LibraryItemOut.model_validate(i) for i in items])


@router.post("", status_code=201, response_model=LibraryItemResponse,
             responses=errors(*AUTHENTICATED, 403, 409, 422), summary="Add a library item")
def add_item(herald: HeraldDep, actor: ActorDep, request: Request, body: LibraryItemCreate,
             idempotency_key: IdempotencyKey = None) -> JSONResponse:
    return respond_once(herald, actor, idempotency_key, request, body, 201, lambda: LibraryItemResponse(
        item=LibraryItemOut.model_validate(herald.library.add(actor, body.changes()))))


@router.put("/{contentId}", response_model=LibraryItemResponse,
            responses=errors(*AUTHENTICATED, 403, 404, 422), summary="Edit a library item")
def update_item(herald: HeraldDep, actor: ActorDep, content_id: ItemId,
                body: LibraryItemUpdate) -> LibraryItemResponse:
    return LibraryItemResponse(item=LibraryItemOut.model_validate(
        herald.library.update(actor, content_id, body.changes())))


@router.delete("/{contentId}", response_model=Deleted, responses=errors(*AUTHENTICATED, 403, 404),
               summary="Delete a library item (posts made from it keep their text)")
def delete_item(herald: HeraldDep, actor: ActorDep, content_id: ItemId) -> Deleted:
    herald.library.delete(actor, content_id)
    return Deleted()
