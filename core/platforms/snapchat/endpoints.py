"""Where the Snapchat connector sends its calls: ``SnapEndpoints``, every path below the API and
OAuth bases, in one place so ``connector.endpoints`` can follow Snap's allowlist documentation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SnapEndpoints:
    """Paths below the API base (``https://businessapi.snapchat.com``) and the OAuth base
    (``https://accounts.snapchat.com``). Only ``create_media`` and ``stats`` are confirmed."""

    create_media: str = "v1/public_profiles/{profile_id}/media"
    list_media: str = "v1/public_profiles/{profile_id}/media"
    media: str = "v1/public_profiles/{profile_id}/media/{media_id}"
    upload_init: str = "v1/media/{media_id}/multipart-upload-v2?action=INIT"
    content: Mapping[str, str] = field(default_factory=lambda: {
        "story": "v1/public_profiles/{profile_id}/stories",
        "saved_story": "v1/public_profiles/{profile_id}/saved_stories",
        "spotlight": "v1/public_profiles/{profile_id}/spotlights"})
    stats: str = "v1/public_profiles/{profile_id}/stats"
    me: str = "v1/me"
    profiles: str = "v1/me/public_profiles"
    authorize: str = "login/oauth2/authorize"
    token: str = "login/oauth2/access_token"
    revoke: str = "accounts/oauth2/revoke"
