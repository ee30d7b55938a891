"""Posts: list, create (one or in bulk), read, edit, reschedule, cancel, publish, approve, reject.

Registered last: ``/{postId}`` would otherwise capture ``/calendar``, ``/stats`` and the rest.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse

from api.deps import ActorDep, HeraldDep
from api.idempotency import IdempotencyKey, respond_once
from api.schemas.common import AUTHENTICATED, PlatformName, errors
from api.schemas.posts import (
    ApprovalResponse,
    ApproveRequest,
    BulkItemOut,
    BulkRequest,
    BulkResponse,
    PostCreate,
    PostListResponse,
    PostOut,
    PostResponse,
    PostUpdate,
    PublishResponse,
    RejectRequest,
    RescheduleRequest,
)
from core.domain.platforms import normalize_platform
from core.domain.posts import PostStatus
from core.services.views import ScheduleResult

router = APIRouter(tags=["posts"])
PostId = Annotated[str, Path(alias="postId", description="The post's id (a UUID); an unknown id, or another "
                                         "organisation's, is a 404")]


def _result(result: ScheduleResult) -> PostResponse:
    return PostResponse.model_validate(
        {"post": result.post, "notes": result.notes, "conflicts": result.conflicts}, from_attributes=True)


@router.get("/", response_model=PostListResponse, responses=errors(*AUTHENTICATED, 422),
            summary="List posts, newest first, a page at a time")
def list_posts(
    herald: HeraldDep, actor: ActorDep,
    status: Annotated[PostStatus | None, Query(description="Only posts in this state")] = None,
    platform: Annotated[PlatformName | None, Query(description="Only posts going to this network")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PostListResponse:
    posts, total = herald.scheduling.list_posts(
        actor, status=status.value if status else None,
        platform=normalize_platform(platform) if platform else None,
        limit=per_page, offset=(page - 1) * per_page)
    return PostListResponse.model_validate({
        "posts": posts,
        "pagination": {"page": page, "per_page": per_page, "total": total,
                       "total_pages": math.ceil(total / per_page)}}, from_attributes=True)


@router.post("/", status_code=201, response_model=PostResponse,
             responses=errors(*AUTHENTICATED, 403, 409, 422),
             summary="Create a post: scheduled when `scheduled_at` is given, else a draft")
def create_post(herald: HeraldDep, actor: ActorDep, request: Request, body: PostCreate,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    return respond_once(herald, actor, idempotency_key, request, body, 201, lambda: _result(
        herald.scheduling.schedule_post(actor, body.changes(), force=bool(body.force),
                                        idempotency_key=idempotency_key)))


@router.post("/bulk", response_model=BulkResponse, responses=errors(*AUTHENTICATED, 403, 409, 422),
             summary="Create many posts; each succeeds or fails on its own, one result per item")
def bulk_create(herald: HeraldDep, actor: ActorDep, request: Request, body: BulkRequest,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def run() -> BulkResponse:
        items = [post.model_dump(mode="json", exclude_unset=True) for post in body.posts]
        results = herald.scheduling.bulk_schedule(actor, items, force=body.force,
                                                  idempotency_key=idempotency_key)
        created = sum(r.ok for r in results)
        return BulkResponse(created=created, failed=len(results) - created,
                            results=[BulkItemOut.model_validate(r) for r in results])

    return respond_once(herald, actor, idempotency_key, request, body, 200, run)


@router.get("/{postId}", response_model=PostResponse, responses=errors(*AUTHENTICATED, 404),
            summary="One post, with its queue items and per-network results")
def get_post(herald: HeraldDep, actor: ActorDep, post_id: PostId) -> PostResponse:
    return PostResponse(post=PostOut.model_validate(herald.scheduling.get_post(actor, post_id)))


@router.put("/{postId}", response_model=PostResponse, responses=errors(*AUTHENTICATED, 403, 404, 409, 422),
            summary="Edit a post; content changes send an approved post back for approval")
def update_post(herald: HeraldDep, actor: ActorDep, post_id: PostId, body: PostUpdate) -> PostResponse:
    return _result(herald.scheduling.update_post(actor, post_id, body.changes(), force=bool(body.force)))


@router.post("/{postId}/reschedule", response_model=PostResponse,
             responses=errors(*AUTHENTICATED, 403, 404, 409, 422), summary="Move a post to a new time")
def reschedule_post(herald: HeraldDep, actor: ActorDep, post_id: PostId, body: RescheduleRequest) -> PostResponse:
    return _result(herald.scheduling.reschedule_post(actor, post_id, body.scheduled_at, force=body.force))


@router.post("/{postId}/cancel", response_model=PostResponse, responses=errors(*AUTHENTICATED, 403, 404, 409),
             summary="Cancel a draft or scheduled post (its queue items are cancelled)")
def cancel_post(herald: HeraldDep, actor: ActorDep, post_id: PostId) -> PostResponse:
    return PostResponse(post=PostOut.model_validate(herald.scheduling.cancel_post(actor, post_id)))


@router.post("/{postId}/publish", response_model=PublishResponse,
             responses=errors(*AUTHENTICATED, 403, 404, 409),
             summary="Publish now to every network of the post (managers and admins)")
def publish_post(herald: HeraldDep, actor: ActorDep, post_id: PostId) -> PublishResponse:
    results = herald.publishing.publish_post(actor, post_id)
    return PublishResponse(results=results, post=PostOut.model_validate(herald.scheduling.get_post(actor, post_id)))


@router.post("/{postId}/approve", response_model=ApprovalResponse,
             responses=errors(*AUTHENTICATED, 403, 404, 409, 422), summary="Approve a pending post")
def approve_post(herald: HeraldDep, actor: ActorDep, post_id: PostId,
                 body: Annotated[ApproveRequest | None, Body()] = None) -> ApprovalResponse:
    outcome = herald.approvals.approve(actor, post_id, body.comment if body else None)
    return ApprovalResponse(post=PostOut.model_validate(outcome.post), approvals_so_far=outcome.approvals_so_far,
                            approvals_needed=outcome.approvals_needed)


@router.post("/{postId}/reject", response_model=PostResponse,
             responses=errors(*AUTHENTICATED, 403, 404, 409, 422), summary="Reject a pending post, saying why")
def reject_post(herald: HeraldDep, actor: ActorDep, post_id: PostId, body: RejectRequest) -> PostResponse:
    return PostResponse(post=PostOut.model_validate(herald.approvals.reject(actor, post_id, body.reason)))
