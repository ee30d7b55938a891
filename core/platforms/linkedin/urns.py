"""LinkedIn URNs: who posts (``author_urn``), a post's web address, and a URN quoted for a path."""

from __future__ import annotations

import re
from urllib.parse import quote

from core.errors import PermanentPlatformError
from core.platforms.base import AccountCredentials

WEB = "https://www.linkedin.com"
_AUTHOR = re.compile(r"^urn:li:(?:person|organization):[\w-]+$")
_POST_URN = re.compile(r"^urn:li:(?:share|ugcPost):\d+$")


def author_urn(account: AccountCredentials) -> str:
    """Who posts: ``extra["author_urn"]`` (member or organization), else the member."""
    urn = account.extra.get("author_urn")
    if urn is None:
        return f"urn:li:person:{account.external_account_id}"
    if not isinstance(urn, str) or not _AUTHOR.match(urn):
        raise PermanentPlatformError("linkedin", f"author_urn {urn!r} is neither "
                                     "urn:li:person:<id> nor urn:li:organization:<id>")
    return urn


def post_url(urn: str) -> str:
    return f"{WEB}/feed/update/{urn}"


def _urn(urn: str) -> str:
    return quote(urn, safe="")
