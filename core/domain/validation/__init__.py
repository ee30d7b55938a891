"""Post validation: ``validate_post`` and the per-network checks, split by concern.

- ``content``: ``PostContent`` and what each network receives of it (text, title, options);
- ``media``: media addresses and kinds, and each network's media rules per post type;
- ``checks``: the entry points and the post-wide, text, title, tag, thread and blocked-term checks.

Everything other code imports stays importable from ``core.domain.validation``.
"""

from core.domain.validation.checks import require_valid, validate_for_platform, validate_post
from core.domain.validation.content import PostContent, text_for_platform, title_for_platform
from core.domain.validation.media import is_https_url

__all__ = [
    "PostContent",
    "is_https_url",
    "require_valid",
    "text_for_platform",
    "title_for_platform",
    "validate_for_platform",
    "validate_post",
]
