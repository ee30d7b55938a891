"""Check a post against every selected network's rules before it is saved or scheduled.

Validation never stops at the first problem and never raises on bad input: it returns every
``Problem`` at once, each naming the platform (``None`` when it concerns the post as a whole),
the input field, a stable code, the limit and the actual value, and a message that tells a
marketer how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.domain.platforms import POST_TYPES, platform_name, split_platforms
from core.domain.rules import RULES, PlatformRules, TextRule
from core.domain.text import (
    extract_cashtags,
    extract_hashtags,
    extract_mentions,
    hashtag_body,
    is_hashtag_body,
    normalize_text,
)
from core.domain.validation.content import (
    PostContent,
    _options,
    _override,
    _post_type,
    text_for_platform,
    title_for_platform,
)
from core.domain.validation.media import _media_problems, _media_url_problems, _unsupported
from core.errors import Problem, ValidationFailed

# --- entry points ----------------------------------------------------------------------------


def validate_post(post: PostContent, *, blocked_terms: Sequence[str] = ()) -> list[Problem]:
    """Every problem with ``post`` on every platform it targets; empty when it can be published."""
    platforms, problems = split_platforms(post.platforms)
    problems.extend(_post_problems(post, platforms))
    for platform in platforms:
        problems.extend(_platform_problems(post, platform, blocked_terms))
    return problems


def validate_for_platform(
    post: PostContent, platform: str, *, blocked_terms: Sequence[str] = ()
) -> list[Problem]:
    """Every problem with publishing ``post`` to one platform (what a connector checks),
    including the post-wide ones such as blank content or a bad media URL."""
    known, problems = split_platforms([platform])
    if not known:
        return problems
    return _post_problems(post, known) + _platform_problems(post, known[0], blocked_terms)


def require_valid(post: PostContent, *, blocked_terms: Sequence[str] = ()) -> None:
    """Raise ``ValidationFailed`` listing every problem, if there is any."""
    problems = validate_post(post, blocked_terms=blocked_terms)
    if problems:
        raise ValidationFailed(problems)


# --- post-wide checks ------------------------------------------------------------------------


def _post_problems(post: PostContent, platforms: Sequence[str]) -> list[Problem]:
    problems: list[Problem] = []
    post_type = _post_type(post)
    if not post_type:
        problems.append(Problem("post_type", "required", "Choose a post type: "
                                + ", ".join(POST_TYPES) + "."))
    elif post_type not in POST_TYPES:
        problems.append(Problem("post_type", "unknown_post_type",
                                f"Unknown post type {post.post_type!r}; use one of "
                                + ", ".join(POST_TYPES) + ".", actual=post.post_type))
    overridden = all(_override(post, p) is not None for p in platforms)
    if not normalize_text(str(post.content or "")) and not (platforms and overridden):
        problems.append(Problem("content", "required",
                                "Write the post's text; it can't be empty or only spaces."))
    problems.extend(_media_url_problems(post))
    problems.extend(_tag_format_problems(post))
    return problems


_MENTION_BODY = re.compile(r"\w(?:[\w.]*\w)?")


def _mention_body(mention: str) -> str:
    return mention.strip().lstrip("@＠").strip()


def _tag_format_problems(post: PostContent) -> list[Problem]:
    problems: list[Problem] = []
    for index, tag in enumerate(post.hashtags):
        if not (isinstance(tag, str) and is_hashtag_body(hashtag_body(normalize_text(tag)))):
            problems.append(Problem(f"hashtags[{index}]", "invalid_hashtag",
                                    f"{str(tag)!r} isn't a hashtag networks recognise: use letters, "
                                    "digits and underscores only, with at least one letter and no "
                                    "spaces (e.g. #LaunchDay).", actual=tag))
    for index, mention in enumerate(post.mentions):
        if not (isinstance(mention, str) and _MENTION_BODY.fullmatch(_mention_body(mention))):
            problems.append(Problem(f"mentions[{index}]", "invalid_mention",
                                    f"{str(mention)!r} isn't a valid @handle: use letters, digits, "
                                    "underscores and dots, without spaces.", actual=mention))
    return problems


# --- per-platform checks ---------------------------------------------------------------------


def _platform_problems(
    post: PostContent, platform: str, blocked_terms: Sequence[str]
) -> list[Problem]:
    rules = RULES[platform]
    post_type = _post_type(post)
    media_rule = rules.media_rule(post_type)
    problems: list[Problem] = []
    if post_type in POST_TYPES and media_rule is None:
        problems.append(_unsupported(platform, post_type))
    if media_rule is not None:
        problems.extend(_media_problems(post, platform, post_type, media_rule))
    problems.extend(_body_problems(post, rules, post_type, blocked_terms))
    title_rule = rules.title_rule(post_type)
    if title_rule is not None:
        problems.extend(_title_problems(post, platform, title_rule, blocked_terms))
    if rules.threads:
        problems.extend(_thread_problems(post, rules, blocked_terms))
    return problems


def _body_problems(
    post: PostContent, rules: PlatformRules, post_type: str, blocked_terms: Sequence[str]
) -> list[Problem]:
    platform, rule = rules.platform, rules.text_rule(post_type)
    text = text_for_platform(post, platform)
    what = f"this {rule.name}" + (" with its hashtags" if post.hashtags else "")
    problems = _text_problems(platform, rule, text, what=what)
    if post_type == "link" and post_type in rules.post_types and not _has_link(text):
        problems.append(Problem("content", "missing_link",
                                f"A link post on {platform_name(platform)} needs a link: add an "
                                "https:// address to the text, or choose post type 'text'.",
                                platform=platform))
    problems.extend(_tag_cap_problems(post, rules, text))
    problems.extend(_blocked_term_problems(platform, rule.field, rule.name, text, blocked_terms))
    return problems


def _has_link(text: str) -> bool:
    return re.search(r"(?:https?://|www\.)\S", text, re.IGNORECASE) is not None


_UNITS = {
    "weighted_x": "weighted characters (URLs count 23, emoji 2)",
    "utf16": "characters (emoji count 2)",
    "utf8_bytes": "bytes (accented letters count 2, emoji 4)",
    "codepoints": "characters",
}


def _article(word: str) -> str:
    return "an" if word[:1].upper() in "AEIOUX" else "a"


def _text_problems(
    platform: str, rule: TextRule, text: str, *, field: str | None = None,
    what: str | None = None, alternative: str | None = None,
) -> list[Problem]:
    """too_long and invalid_character problems of one text; ``what`` names it in the message
    and ``alternative`` is the other fix offered besides shortening it."""
    name, noun = platform_name(platform), rule.name
    where, what = field or rule.field, what or f"this {noun}"
    if alternative is None:
        alternative = f"add {_article(name)} {name}-specific variant"
    problems: list[Problem] = []
    actual = rule.length(text)
    if actual > rule.limit:
        problems.append(Problem(where, "too_long",
                                f"{name} allows {rule.limit} {_UNITS[rule.counting]} in "
                                f"{_article(noun)} {noun}; {what} has {actual}. Shorten it by "
                                f"{actual - rule.limit} or {alternative}.",
                                platform=platform, limit=rule.limit, actual=actual))
    bad = sorted({c for c in text if c in rule.forbidden_chars})
    if bad:
        problems.append(Problem(where, "invalid_character",
                                f"{name} doesn't accept {' or '.join(repr(c) for c in bad)} in "
                                f"{_article(noun)} {noun}; remove or replace them.",
                                platform=platform, limit=rule.forbidden_chars, actual="".join(bad)))
    return problems


def _title_problems(
    post: PostContent, platform: str, rule: TextRule, blocked_terms: Sequence[str]
) -> list[Problem]:
    name, title = platform_name(platform), title_for_platform(post, platform)
    if not title:
        if not rule.required:
            return []
        return [Problem(rule.field, "required",
                        f"{name} needs a {rule.name} of 1-{rule.limit} characters: set the post's "
                        "title, or start the text with it.", platform=platform,
                        limit=rule.limit, actual=0)]
    if isinstance(post.title, str) and post.title.strip():
        problems = _text_problems(platform, rule, title, alternative="write a shorter title")
    else:
        problems = _text_problems(platform, rule, title, what="the title (the text's first line)",
                                  alternative="set a separate title for the post")
    problems.extend(_blocked_term_problems(platform, rule.field, rule.name, title, blocked_terms))
    return problems


def _unique_mentions(post: PostContent, text: str) -> set[str]:
    given = {"@" + _mention_body(m) for m in post.mentions if isinstance(m, str)}
    return {m.casefold() for m in extract_mentions(text)} | {
        m.casefold() for m in given if _MENTION_BODY.fullmatch(m[1:])
    }


def _tag_cap_problems(post: PostContent, rules: PlatformRules, text: str) -> list[Problem]:
    platform, name = rules.platform, platform_name(rules.platform)
    problems: list[Problem] = []
    # The post's hashtags are already in ``text`` (compose_text), each tag once.
    hashtags = len(extract_hashtags(text))
    if rules.max_hashtags is not None and hashtags > rules.max_hashtags:
        problems.append(Problem("hashtags", "too_many_hashtags",
                                f"{name} allows {rules.max_hashtags} hashtags per post; this post "
                                f"has {hashtags} (text and hashtag list together). Remove "
                                f"{hashtags - rules.max_hashtags}.",
                                platform=platform, limit=rules.max_hashtags, actual=hashtags))
    mentions = len(_unique_mentions(post, text))
    if rules.max_mentions is not None and mentions > rules.max_mentions:
        problems.append(Problem("mentions", "too_many_mentions",
                                f"{name} allows {rules.max_mentions} @mentions per post; this post "
                                f"has {mentions}. Remove {mentions - rules.max_mentions}.",
                                platform=platform, limit=rules.max_mentions, actual=mentions))
    problems.extend(_cashtag_problems(rules, text, "content"))
    return problems


def _cashtag_problems(rules: PlatformRules, text: str, where: str) -> list[Problem]:
    cashtags = extract_cashtags(text)
    if rules.max_cashtags is None or len(cashtags) <= rules.max_cashtags:
        return []
    return [Problem(where, "too_many_cashtags",
                    f"{platform_name(rules.platform)} allows {rules.max_cashtags} cashtag per "
                    f"post; this one has {len(cashtags)} ({', '.join(cashtags)}). Remove "
                    f"{len(cashtags) - rules.max_cashtags}.",
                    platform=rules.platform, limit=rules.max_cashtags, actual=len(cashtags))]


def _thread_problems(
    post: PostContent, rules: PlatformRules, blocked_terms: Sequence[str]
) -> list[Problem]:
    platform = rules.platform
    thread = _options(post, platform).get("thread")
    if thread is None:
        return []
    if isinstance(thread, str | bytes) or not isinstance(thread, Sequence):
        return [Problem("options.thread", "invalid_option",
                        "The thread must be a list of texts, one per reply.",
                        platform=platform, actual=type(thread).__name__)]
    problems: list[Problem] = []
    for index, item in enumerate(thread):
        where, what = f"options.thread[{index}]", f"reply {index + 1} of the thread"
        text = normalize_text(item) if isinstance(item, str) else ""
        if not text:
            problems.append(Problem(where, "required",
                                    f"{what.capitalize()} is empty; write it or remove it.",
                                    platform=platform))
            continue
        problems.extend(_text_problems(platform, rules.text, text, field=where, what=what,
                                       alternative="move part of it to another reply"))
        problems.extend(_cashtag_problems(rules, text, where))
        problems.extend(_blocked_term_problems(platform, where, "thread reply", text,
                                               blocked_terms))
    return problems


def _blocked_pattern(term: str) -> re.Pattern[str] | None:
    words = normalize_text(term).casefold().split()
    if not words:
        return None
    # Whole words or phrases: no word character may touch either end; any spacing inside.
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)


def _blocked_term_problems(
    platform: str, where: str, noun: str, text: str, blocked_terms: Sequence[str]
) -> list[Problem]:
    folded = text.casefold()
    problems: list[Problem] = []
    terms = {t.strip().casefold(): t for t in blocked_terms if isinstance(t, str)}
    for term in terms.values():
        pattern = _blocked_pattern(term)
        if pattern is not None and pattern.search(folded):
            problems.append(Problem(where, "blocked_term",
                                    f"{term.strip()!r} is on your organisation's blocked terms "
                                    f"list; remove it from the {noun} for "
                                    f"{platform_name(platform)}.",
                                    platform=platform, actual=term.strip()))
    return problems
