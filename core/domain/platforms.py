"""The seven networks Herald publishes to, their post types and dashboard metadata.

Platform keys are lower-case and stable (they are stored in the database and used in URLs and
settings); ``x`` is accepted as an alias of ``twitter`` wherever a user types a platform name.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import Problem, ValidationFailed

PLATFORMS: tuple[str, ...] = (
    "facebook",
    "instagram",
    "twitter",
    "linkedin",
    "tiktok",
    "youtube",
    "snapchat",
)
ALIASES: dict[str, str] = {"x": "twitter"}

POST_TYPES: tuple[str, ...] = ("text", "link", "image", "video", "carousel", "story", "reel")

# Long labels for pickers and tables.
PLATFORM_LABELS: dict[str, str] = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "twitter": "X (Twitter)",
    "linkedin": "LinkedIn",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "snapchat": "Snapchat",
}
# Short names for sentences ("X allows 280 ..."), where the long label reads badly.
PLATFORM_NAMES: dict[str, str] = {**PLATFORM_LABELS, "twitter": "X"}
PLATFORM_ICONS: dict[str, str] = {
    "facebook": "📘",
    "instagram": "📸",
    "twitter": "𝕏",
    "linkedin": "💼",
    "tiktok": "🎵",
    "youtube": "▶️",
    "snapchat": "👻",
}
# Brand colours, from each network's brand guidelines.
PLATFORM_COLORS: dict[str, str] = {
    "facebook": "#1877F2",
    "instagram": "#E4405F",
    "twitter": "#000000",
    "linkedin": "#0A66C2",
    "tiktok": "#000000",
    "youtube": "#FF0000",
    "snapchat": "#FFFC00",
}

_FIELD = "platforms"


def platform_name(platform: str) -> str:
    """Short human name of a platform key, or the key itself when it is not one of ours."""
    return PLATFORM_NAMES.get(platform, platform)


def platform_key(name: object) -> str:
    """Lower-case, trimmed, alias-resolved key for ``name``; not checked against PLATFORMS."""
    text = name if isinstance(name, str) else str(name)
    key = text.strip().lower()
    return ALIASES.get(key, key)


def unknown_platform_problem(name: object) -> Problem:
    """The problem reported for a platform name that is not one of the seven networks."""
    return Problem(
        field=_FIELD,
        code="unknown_platform",
        message=f"Unknown platform {str(name)!r}; use one of {', '.join(PLATFORMS)}.",
        actual=name if isinstance(name, str) else str(name),
    )


def normalize_platform(name: str) -> str:
    """Return the platform key for ``name`` (case and surrounding whitespace ignored, ``x`` ->
    ``twitter``), or raise ``ValidationFailed`` with an ``unknown_platform`` problem."""
    key = platform_key(name)
    if key not in PLATFORMS:
        raise ValidationFailed([unknown_platform_problem(name)])
    return key


def split_platforms(names: Iterable[str] | str | None) -> tuple[tuple[str, ...], list[Problem]]:
    """Known platform keys (deduplicated, in the order given) and one problem per unknown name.

    Never raises: validation uses it to keep going past bad platform names.
    """
    if names is None:
        names = ()
    elif isinstance(names, str):
        names = (names,)
    known: list[str] = []
    problems: list[Problem] = []
    seen_unknown: set[str] = set()
    for name in names:
        key = platform_key(name)
        if key in PLATFORMS:
            if key not in known:
                known.append(key)
        elif key not in seen_unknown:
            seen_unknown.add(key)
            problems.append(unknown_platform_problem(name))
    if not known and not problems:
        problems.append(
            Problem(
                field=_FIELD,
                code="required",
                message=f"Choose at least one platform ({', '.join(PLATFORMS)}).",
                limit=1,
                actual=0,
            )
        )
    return tuple(known), problems


def normalize_platforms(names: Iterable[str] | str | None) -> tuple[str, ...]:
    """Platform keys for ``names``, deduplicated in the order given.

    Raises ``ValidationFailed`` listing every unknown name at once, or a ``required`` problem
    when no platform is given.
    """
    known, problems = split_platforms(names)
    if problems:
        raise ValidationFailed(problems)
    return known
