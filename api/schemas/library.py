"""Content library: templates, media and hashtag sets."""

from __future__ import annotations

import uuid
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import ApiModel, RequestModel, Timestamp
from core.services.library import CONTENT_TYPES

ContentTypeName = Literal["text", "image", "video", "template", "hashtag_set"]
assert get_args(ContentTypeName) == CONTENT_TYPES


class LibraryItemOut(ApiModel):
    content_id: uuid.UUID
    title: str
    content_type: str
    category: str | None
    content: str | None
    media_urls: list[str]
    metadata: dict[str, Any]
    hashtags: list[str]
    placeholders: list[str] = Field(description="[NAME] placeholders in the text, filled when used")
    usage_count: int
    last_used_at: Timestamp | None
    created_by: uuid.UUID
    created_at: Timestamp
    updated_at: Timestamp


class LibraryListResponse(BaseModel):
    success: Literal[True] = True
    items: list[LibraryItemOut]


class LibraryItemResponse(BaseModel):
    success: Literal[True] = True
    item: LibraryItemOut


class LibraryItemFields(RequestModel):
    title: str | None = Field(default=None, max_length=255)
    content_type: ContentTypeName | None = None
    category: str | None = Field(default=None, max_length=100)
    content: str | None = None
    media_urls: list[str] | None = Field(default=None, description="https URLs")
    metadata: dict[str, Any] | None = None
    hashtags: list[str] | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class LibraryItemCreate(LibraryItemFields):
    title: str = Field(max_length=255)
    content_type: ContentTypeName

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Product launch", "content_type": "template", "category": "launches",
        "content": "[PRODUCT] is here from [COMPANY]!", "hashtags": ["#launch"]}]})


class LibraryItemUpdate(LibraryItemFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"category": "evergreen"}]})
