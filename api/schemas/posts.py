"""Posts: what clients send to create, edit, reschedule, approve and reject, and what they get back."""

from __future__ import annotations

import uuid
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from api.schemas.common import (
    TIME_INPUT_DESCRIPTION,
    ApiModel,
    ErrorInfo,
    PlatformName,
    RequestModel,
    Timestamp,
)
from core.domain.platforms import POST_TYPES
from core.domain.posts import ApprovalStatus, PostStatus

PostTypeName = Literal["text", "link", "image", "video", "carousel", "story", "reel"]
assert get_args(PostTypeName) == POST_TYPES

TIME_FORMAT: JsonDict = {"format": "date-time"}


class QueueItemOut(ApiModel):
    queue_id: uuid.UUID
    platform: str
    status: str = Field(description="pending, processing, completed, failed, cancelled or unconfirmed")
    scheduled_for: Timestamp
    next_attempt_at: Timestamp
    attempts: int
    max_attempts: int
    last_attempt_at: Timestamp | None
    error_message: str | None
    processed_at: Timestamp | None


class PlatformPostOut(ApiModel):
    platform_post_id: uuid.UUID
    platform: str
    status: str
    platform_post_id_external: str | None = Field(description="The post's id on the network")
    post_url: str | None
    published_at: Timestamp | None
    error_message: str | None
    likes: int
    comments: int
    shares: int
    views: int
    saves: int | None
    engagement: int
    engagement_rate: float
    last_synced_at: Timestamp | None


class PostOut(ApiModel):
    post_id: uuid.UUID
    org_id: uuid.UUID
    created_by: uuid.UUID
    title: str | None
    content: str
    media_urls: list[str]
    media_metadata: dict[str, Any]
    post_type: str
    platforms: list[str]
    platform_specific_content: dict[str, str]
    platform_options: dict[str, Any]
    status: PostStatus
    scheduled_at: Timestamp | None
    published_at: Timestamp | None
    approval_status: ApprovalStatus
    approved_by: uuid.UUID | None
    approved_at: Timestamp | None
    rejection_reason: str | None
    hashtags: list[str]
    mentions: list[str]
    location_tag: str | None
    content_library_id: uuid.UUID | None
    error_message: str | None
    created_at: Timestamp
    updated_at: Timestamp
    queue_items: list[QueueItemOut] = Field(description="One per network once scheduled")
    platform_posts: list[PlatformPostOut] = Field(description="Each network's result and metrics")


class ConflictPostOut(BaseModel):
    post_id: str
    title: str
    scheduled_at: str = Field(json_schema_extra={"format": "date-time"})
    local_time: str = Field(description="The same time in the organisation's timezone, for people")


class ConflictOut(ApiModel):
    platform: str
    kind: Literal["min_gap", "daily_cap"]
    message: str
    posts: list[ConflictPostOut]


class PostResponse(BaseModel):
    success: Literal[True] = True
    post: PostOut
    notes: list[str] = Field(default_factory=list, description="Assumptions made, e.g. the timezone a "
                             "naive time was read in")
    conflicts: list[ConflictOut] = Field(default_factory=list,
                                         description="Clashes scheduled anyway because `force` was set")


class Pagination(BaseModel):
    page: int
    per_page: int
    total: int = Field(description="Posts matching the filters, on every page")
    total_pages: int


class PostListResponse(BaseModel):
    success: Literal[True] = True
    posts: list[PostOut]
    pagination: Pagination


class ApprovalResponse(PostResponse):
    approvals_so_far: int = Field(description="Distinct reviewers who approved this round")
    approvals_needed: int


class PublishResponse(PostResponse):
    results: dict[str, bool] = Field(description="Per network: published (true) or not (false)")


class BulkItemOut(ApiModel):
    index: int
    ok: bool
    post: PostOut | None
    error: ErrorInfo | None
    notes: list[str]


class BulkResponse(BaseModel):
    success: Literal[True] = True
    created: int
    failed: int
    results: list[BulkItemOut] = Field(description="One per item, in the order sent")


# --- requests --------------------------------------------------------------------------------

class PostFields(RequestModel):
    title: str | None = Field(default=None, max_length=255)
    content: str | None = Field(default=None, description="The text; per-network variants go in "
                                "`platform_specific_content`")
    platforms: list[PlatformName] | None = None
    post_type: PostTypeName | None = Field(default=None, description="Inferred from the media when left out")
    media_urls: list[str] | None = Field(default=None, description="https URLs")
    media_metadata: dict[str, Any] | None = None
    hashtags: list[str] | None = None
    mentions: list[str] | None = None
    location_tag: str | None = Field(default=None, max_length=255)
    content_library_id: uuid.UUID | None = None
    platform_specific_content: dict[PlatformName, str] | None = None
    platform_options: dict[PlatformName, dict[str, Any]] | None = None
    scheduled_at: str | None = Field(default=None, description=TIME_INPUT_DESCRIPTION, json_schema_extra=TIME_FORMAT)
    submit_for_approval: bool | None = Field(
        default=None, description="Send a draft for approval (scheduling does this by itself)")
    force: bool | None = Field(default=None, description="Schedule even if the time clashes with the "
                               "org's minimum gap or daily cap; the clashes are listed in the response")

    def changes(self) -> dict[str, Any]:
        """What the client sent, as the services read it (``force`` is an option, not a field)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"force"})


class PostCreate(PostFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Winter launch",
        "content": "Our winter range is here. #winter",
        "platforms": ["facebook", "twitter", "linkedin"],
        "scheduled_at": "2026-12-01T09:00:00+00:00",
    }]})


class PostUpdate(PostFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "content": "Our winter range is here, with free delivery. #winter",
        "scheduled_at": "2026-12-01T10:00",
    }]})


class RescheduleRequest(RequestModel):
    scheduled_at: str = Field(description=TIME_INPUT_DESCRIPTION, json_schema_extra=TIME_FORMAT)
    force: bool = False

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"scheduled_at": "2026-12-02T09:30:00+00:00"}]})


class ApproveRequest(RequestModel):
    comment: str | None = Field(default=None, max_length=2000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"comment": "Looks good"}]})


class RejectRequest(RequestModel):
    reason: str = Field(max_length=2000, description="Why, so the author can fix it (required)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Please add the price and a link to the shop"}]})


class BulkRequest(RequestModel):
    posts: list[PostCreate] = Field(min_length=1, max_length=100)
    force: bool = False

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"posts": [
        {"content": "Monday tip: plan your week", "platforms": ["linkedin"],
         "scheduled_at": "2026-12-07T08:00"},
        {"content": "Friday recap", "platforms": ["facebook", "twitter"],
         "scheduled_at": "2026-12-11T16:00"},
    ]}]})
