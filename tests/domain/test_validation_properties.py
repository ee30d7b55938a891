"""Properties of text handling and validation that must hold for any input (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.domain.platforms import PLATFORMS, POST_TYPES, normalize_platform
from core.domain.rules import MEDIA_KINDS, RULES, media_kind, supported_post_types
from core.domain.text import (
    compose_text,
    extract_hashtags,
    hashtag_body,
    hashtag_occurrences,
    is_hashtag_body,
    normalize_text,
)
from core.domain.validation import (
    PostContent,
    text_for_platform,
    validate_for_platform,
    validate_post,
)
from core.errors import Problem

# Bounded so the whole file runs in a few seconds; twitter-text is the slow part.
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_text = st.text(max_size=200)
# Includes lone surrogates and every control character.
raw_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=100)
platform_names = st.sampled_from([*PLATFORMS, "x", " X ", "TikTok", "myspace", "", "twitter "])
post_types = st.sampled_from([*POST_TYPES, "poll", "", " Reel "])
media_urls = st.one_of(
    st.sampled_from([
        "https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png?x=1",
        "https://cdn.example.com/c.mp4", "https://cdn.example.com/d.gif",
        "https://cdn.example.com/e.pdf", "https://cdn.example.com/blob", "http://a.com/a.jpg",
        "not a url", "",
    ]),
    st.text(max_size=30),
)
tags = st.one_of(st.from_regex(r"#?[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True), st.text(max_size=12))

posts = st.builds(
    PostContent,
    content=any_text,
    post_type=post_types,
    platforms=st.lists(platform_names, max_size=4).map(tuple),
    media_urls=st.lists(media_urls, max_size=5).map(tuple),
    media_kinds=st.dictionaries(media_urls, st.sampled_from([*MEDIA_KINDS, "video/mp4", "x"]),
                                max_size=2),
    hashtags=st.lists(tags, max_size=4).map(tuple),
    mentions=st.lists(st.text(max_size=10), max_size=3).map(tuple),
    title=st.none() | st.text(max_size=60),
    platform_specific_content=st.dictionaries(platform_names, any_text, max_size=2),
    platform_options=st.dictionaries(
        platform_names,
        st.fixed_dictionaries({"thread": st.lists(any_text, max_size=2) | st.integers()}),
        max_size=1,
    ),
)


@FAST
@given(post=posts, blocked=st.lists(st.text(max_size=8), max_size=3))
def test_validation_never_raises_and_returns_problems(post: PostContent,
                                                      blocked: list[str]) -> None:
    problems = validate_post(post, blocked_terms=blocked)
    assert isinstance(problems, list)
    assert all(isinstance(p, Problem) and p.field and p.code and p.message for p in problems)
    assert all(p.platform is None or p.platform in PLATFORMS for p in problems)


@FAST
@given(post=posts, platform=platform_names)
def test_validating_one_platform_never_raises(post: PostContent, platform: str) -> None:
    assert all(isinstance(p, Problem) for p in validate_for_platform(post, platform))


# No '.' or ':' so no URL can form: X would count it as 23 whatever its length.
short_text = st.text(st.characters(exclude_characters=".:", exclude_categories=("Cs",)),
                     min_size=1, max_size=70).filter(lambda t: normalize_text(t) != "")


@FAST
@given(content=short_text, title=st.text(min_size=1, max_size=20).filter(str.strip),
       post_type=st.sampled_from(POST_TYPES))
def test_text_within_every_limit_is_never_too_long(content: str, title: str,
                                                   post_type: str) -> None:
    # 70 characters weigh at most 140 on X, take at most 280 bytes in UTF-8 and 140 UTF-16
    # units: under every network's limit. 20-character titles are under every title limit.
    post = PostContent(content=content, post_type=post_type, platforms=PLATFORMS, title=title)
    assert "too_long" not in [p.code for p in validate_post(post)]


@settings(max_examples=25, deadline=None)
@given(platform=st.sampled_from(PLATFORMS), prefix=short_text, filler=st.sampled_from("aé😀日"),
       extra=st.integers(min_value=1, max_value=40))
def test_text_over_the_limit_is_exactly_one_too_long(platform: str, prefix: str, filler: str,
                                                      extra: int) -> None:
    post_type = supported_post_types(platform)[0]
    rule = RULES[platform].text_rule(post_type)
    # The filler alone is over the limit in any counting (each one counts at least 1).
    content = prefix + " " + filler * (rule.limit + extra)
    post = PostContent(content=content, post_type=post_type, platforms=(platform,), title="Hi")
    too_long = [p for p in validate_for_platform(post, platform) if p.code == "too_long"]
    assert len(too_long) == 1
    (problem,) = too_long
    assert (problem.platform, problem.field, problem.limit) == (platform, rule.field, rule.limit)
    assert problem.actual == rule.length(text_for_platform(post, platform)) > rule.limit


@FAST
@given(raw_text)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert "\r" not in once and once == once.strip()


@FAST
@given(content=any_text, hashtags=st.lists(tags, max_size=6))
def test_compose_text_never_duplicates_a_hashtag(content: str, hashtags: list[str]) -> None:
    composed = compose_text(content, hashtags)
    kept = content if content.strip() else ""  # blank content gives way to the tags alone
    assert composed.startswith(kept)
    in_content = [t.casefold() for t in hashtag_occurrences(content)]
    added = [t.casefold() for t in hashtag_occurrences(composed[len(kept):])]
    assert len(added) == len(set(added))
    assert not set(added) & set(in_content)
    # Every valid tag is in the result as many times as before, or once if it was new.
    in_result = [t.casefold() for t in hashtag_occurrences(composed)]
    for body in (hashtag_body(t) for t in hashtags):
        if is_hashtag_body(body):
            tag = "#" + body.casefold()
            assert in_result.count(tag) == max(1, in_content.count(tag))


@FAST
@given(any_text)
def test_extracted_hashtags_are_distinct_hashtags(text: str) -> None:
    found = extract_hashtags(text)
    assert len({t.casefold() for t in found}) == len(found)
    assert all(t.startswith("#") and len(t) > 1 for t in found)


@FAST
@given(name=st.sampled_from([*PLATFORMS, "x"]), spaces=st.sampled_from(["", " ", "\t"]),
       upper=st.booleans())
def test_platform_names_normalise_whatever_their_case(name: str, spaces: str,
                                                      upper: bool) -> None:
    typed = spaces + (name.upper() if upper else name.title()) + spaces
    assert normalize_platform(typed) == ("twitter" if name == "x" else name)


@FAST
@given(url=st.text(max_size=60), declared=st.none() | st.text(max_size=12))
def test_media_kind_is_always_a_known_kind(url: str, declared: str | None) -> None:
    assert media_kind(url, declared) in MEDIA_KINDS
