"""What the contract suite needs to know about each network: an account, a sample request per
supported post type, and the shape of ids and URLs. Add a ``NetworkCase`` to ``CASES`` when a
connector and its sandbox module land."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.platforms import AccountCredentials, PublishRequest
from core.platforms.sandbox import Sandbox

MEDIA = "https://sandbox.herald.local/media"
IMAGE = f"{MEDIA}/photo.jpg?bytes=20000"
IMAGE_2 = f"{MEDIA}/second.png?bytes=30000"
VIDEO = f"{MEDIA}/clip.mp4?bytes=300000"
GIF = f"{MEDIA}/loop.gif?bytes=50000"

_counter = itertools.count(1)


@dataclass(frozen=True)
class NetworkCase:
    platform: str
    external_account_id: str
    username: str
    post_types: Mapping[str, tuple[str, ...]]  # post type -> media URLs
    id_pattern: str
    url_pattern: str
    refresh: str  # "rotating" | "reconnect"
    extra: Mapping[str, Any] = field(default_factory=dict)
    simple_type: str = "text"  # the cheapest post type, for error tests
    video_type: str = "video"  # a post type with asynchronous processing
    reports_likes: bool = True  # Snapchat's Public Profile stats have views and shares, no likes

    def request(self, post_type: str | None = None, text: str | None = None,
                **options: Any) -> PublishRequest:
        post_type = post_type or self.simple_type
        n = next(_counter)
        body = text if text is not None else f"Contract post {n} for {self.platform} #herald"
        if post_type == "link" and text is None:
            body += f" https://example.com/launch/{n}"
        return PublishRequest(post_id=f"post-{n}", platform=self.platform, post_type=post_type,
                              text=body, media_urls=self.post_types[post_type], options=options)

    def register(self, sandbox: Sandbox, *, token: str | None = None,
                 refresh: str | None = "default") -> AccountCredentials:
        token = token or f"{self.platform}-token-{next(_counter)}"
        refresh_token = f"{token}-refresh" if refresh == "default" else refresh
        if self.refresh != "rotating":
            refresh_token = None
        sandbox.register_account(self.platform, self.external_account_id, self.username, token,
                                 refresh_token, extra=dict(self.extra))
        return AccountCredentials(self.platform, self.external_account_id, self.username, token,
                                  refresh_token, extra=dict(self.extra))


CASES: list[NetworkCase] = [
    NetworkCase(
        platform="facebook", external_account_id="101000000000042", username="Acme Page",
        post_types={"text": (), "link": (), "image": (IMAGE,), "carousel": (IMAGE, IMAGE_2),
                    "video": (VIDEO,), "reel": (VIDEO,), "story": (IMAGE,)},
        id_pattern=r"^\d+(_\d+)?$", url_pattern=r"^https://www\.facebook\.com/\S+$",
        refresh="reconnect", extra={"page_id": "101000000000042"}, video_type="reel"),
    NetworkCase(
        platform="instagram", external_account_id="17841400000000042", username="acme.shop",
        post_types={"image": (IMAGE,), "video": (VIDEO,), "reel": (VIDEO,),
                    "carousel": (IMAGE, VIDEO, IMAGE_2), "story": (IMAGE,)},
        id_pattern=r"^\d{17}$", url_pattern=r"^https://www\.instagram\.com/\S+/$",
        refresh="reconnect", simple_type="image", video_type="reel"),
    NetworkCase(
        platform="twitter", external_account_id="1500000000000000042", username="acme",
        post_types={"text": (), "link": (), "image": (IMAGE,), "carousel": (IMAGE, IMAGE_2),
                    "video": (VIDEO,)},
        id_pattern=r"^\d{18,20}$", url_pattern=r"^https://x\.com/acme/status/\d+$",
        refresh="rotating"),
    # Google refresh tokens do not rotate (the rotation check does not apply): the case
    # registers none, and test_youtube.py covers refresh, invalid_grant and revoke.
    NetworkCase(
        platform="youtube", external_account_id="UCAcmeVideos000000000042", username="acme",
        post_types={"video": (VIDEO,), "reel": (VIDEO,)},
        id_pattern=r"^[A-Za-z0-9_-]{11}$",
        url_pattern=r"^https://www\.youtube\.com/(watch\?v=|shorts/)[A-Za-z0-9_-]{11}$",
        refresh="reconnect", simple_type="video"),
    # Snapchat (Public Profile API, allowlisted apps only): refresh is covered in
    # test_snapchat.py; the case registers no refresh token.
    NetworkCase(
        platform="snapchat", external_account_id="8a7c1e52-4b3d-4f6a-9c2e-00000000a042",
        username="acme", post_types={"story": (IMAGE,), "reel": (VIDEO,), "video": (VIDEO,)},
        id_pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        url_pattern=r"^https://www\.snapchat\.com/(add/acme|spotlight/[0-9a-f-]{36})$",
        refresh="reconnect", simple_type="story", video_type="reel", reports_likes=False),
    # LinkedIn refresh tokens (partner apps only) do not rotate: the case registers none, and
    # test_linkedin.py covers programmatic refresh.
    NetworkCase(
        platform="linkedin", external_account_id="Hx7Lq2Bv9K", username="Ada Lovelace",
        post_types={"text": (), "link": (), "image": (IMAGE,), "carousel": (IMAGE, IMAGE_2),
                    "video": (VIDEO,)},
        id_pattern=r"^urn:li:(share|ugcPost):\d{19}$",
        url_pattern=r"^https://www\.linkedin\.com/feed/update/urn:li:(share|ugcPost):\d{19}$",
        refresh="reconnect"),
    # TikTok photos are JPEG/WEBP only (no PNG), so the carousel pairs IMAGE with a WEBP.
    NetworkCase(
        platform="tiktok", external_account_id="_000AcmeCreatorOpenId0000000042",
        username="acme.video",
        post_types={"video": (VIDEO,), "reel": (VIDEO,), "image": (IMAGE,),
                    "carousel": (IMAGE, f"{MEDIA}/third.webp?bytes=25000")},
        id_pattern=r"^\d{19}$",
        url_pattern=r"^https://www\.tiktok\.com/@acme\.video/(video|photo)/\d{19}$",
        refresh="rotating", simple_type="image"),
]
