"""creator_info and privacy: what publishing needs of the creator's settings (read at the due
time or ahead of it), the privacy level chosen from the options the creator offers, and the
interaction switches the creator turned off, which TikTok requires apps to honour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from core.errors import PermanentPlatformError
from core.platforms.base import PublishRequest
from core.platforms.tiktok.envelope import data_of

if TYPE_CHECKING:
    from core.platforms.tiktok.connector import TikTokConnector

PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
PREFERRED_PRIVACY = "PUBLIC_TO_EVERYONE"
# What publishing needs of creator_info's answer, kept when it is read ahead of time.
CREATOR_KEYS = ("creator_username", "privacy_level_options", "comment_disabled", "duet_disabled",
                "stitch_disabled", "max_video_post_duration_sec")
PRIVACY_MISMATCH = "privacy_level_option_mismatch"


def read_creator(connector: TikTokConnector, token: str) -> dict[str, Any]:
    """What publishing needs of creator_info (``CREATOR_KEYS``)."""
    data = data_of(connector.call("POST", "v2/post/publish/creator_info/query/", token=token))
    creator = {key: data[key] for key in CREATOR_KEYS if key in data}
    if not privacy_options(creator):
        raise PermanentPlatformError(
            connector.platform, "answered creator_info without data.privacy_level_options; "
            "without them no valid privacy level can be chosen")
    return creator


def privacy_options(creator: Mapping[str, Any]) -> list[str]:
    return [str(o) for o in creator.get("privacy_level_options") or [] if o]


def choose_privacy(requested: object, offered: Sequence[str]) -> str:
    """The privacy level to post with: the requested one if the creator offers it (else a
    clear refusal), otherwise ``PUBLIC_TO_EVERYONE`` if offered, otherwise the first option."""
    if requested:
        if requested not in offered:
            raise PermanentPlatformError(
                "tiktok", f"privacy level {requested} is not offered for this account; "
                f"choose one of {', '.join(offered)}", network_code="privacy_level_option_mismatch")
        return str(requested)
    return PREFERRED_PRIVACY if PREFERRED_PRIVACY in offered else offered[0]


def interaction_flags(request: PublishRequest, creator: Mapping[str, Any],
                      names: Sequence[str]) -> dict[str, Any]:
    """Interaction switches: what the post asks for, but never on when the creator
    turned it off in the app (``comment_disabled`` ...)."""
    flags = {}
    for name in names:
        setting = name.replace("disable_", "") + "_disabled"
        flags[name] = bool(request.options.get(name)) or bool(creator.get(setting))
    return flags
