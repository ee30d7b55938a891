"""Platform rules and post validation, example by example (pure domain, no database)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from core.domain.platforms import (
    PLATFORM_COLORS,
    PLATFORM_ICONS,
    PLATFORM_LABELS,
    PLATFORMS,
    POST_TYPES,
    normalize_platform,
    normalize_platforms,
)
from core.domain.rules import (
    MEDIA_KINDS,
    RULES,
    image_format,
    media_kind,
    supported_post_types,
    text_length,
)
from core.domain.text import (
    codepoint_length,
    compose_text,
    extract_cashtags,
    extract_hashtags,
    extract_mentions,
    normalize_text,
    utf8_length,
    utf16_length,
    x_weighted_length,
)
from core.domain.validation import (
    PostContent,
    require_valid,
    text_for_platform,
    title_for_platform,
    validate_for_platform,
    validate_post,
)
from core.errors import Problem, ValidationFailed

IMG = "https://cdn.example.com/media/photo{}.jpg"
PNG = "https://cdn.example.com/media/photo.png"
VIDEO = "https://cdn.example.com/media/clip.mp4"
GIF = "https://cdn.example.com/media/fun.gif"


def images(n: int, url: str = IMG) -> tuple[str, ...]:
    return tuple(url.format(i) for i in range(n))


def post(platform: str, post_type: str = "text", content: str = "Spring sale starts today",
         **fields: Any) -> PostContent:
    return PostContent(content=content, post_type=post_type, platforms=(platform,), **fields)


def codes(problems: list[Problem], platform: str | None = "any") -> list[str]:
    return [p.code for p in problems if platform == "any" or p.platform == platform]


def only(problems: list[Problem], code: str) -> Problem:
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


# --- platform names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["twitter", "Twitter", " TWITTER ", "x", " X\t"])
def test_platform_names_are_case_insensitive_and_x_means_twitter(name: str) -> None:
    assert normalize_platform(name) == "twitter"


def test_unknown_platform_names_the_platforms_to_use() -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_platform("myspace")
    (problem,) = caught.value.problems
    assert (problem.field, problem.code, problem.actual) == ("platforms", "unknown_platform",
                                                             "myspace")
    assert "facebook, instagram" in problem.message


def test_platform_lists_are_deduplicated_in_order() -> None:
    assert normalize_platforms(["X", "linkedin", "twitter", "LinkedIn"]) == ("twitter", "linkedin")


def test_every_unknown_platform_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_platforms(["foo", "facebook", "bar"])
    assert [p.actual for p in caught.value.problems] == ["foo", "bar"]


def test_an_empty_platform_list_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_platforms([])
    assert [p.code for p in caught.value.problems] == ["required"]


def test_every_platform_has_rules_and_dashboard_metadata() -> None:
    for metadata in (RULES, PLATFORM_LABELS, PLATFORM_ICONS, PLATFORM_COLORS):
        assert set(metadata) == set(PLATFORMS)
    assert PLATFORM_LABELS["twitter"] == "X (Twitter)"
    assert all(re.fullmatch(r"#[0-9A-F]{6}", colour) for colour in PLATFORM_COLORS.values())


# --- what each network publishes -------------------------------------------------------------

SUPPORTED = {
    "facebook": ("text", "link", "image", "video", "carousel", "story", "reel"),
    "instagram": ("image", "video", "carousel", "story", "reel"),
    "twitter": ("text", "link", "image", "video", "carousel"),
    "linkedin": ("text", "link", "image", "video", "carousel"),
    "tiktok": ("image", "video", "carousel", "reel"),
    "youtube": ("video", "reel"),
    "snapchat": ("video", "story", "reel"),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_network_supports_its_post_types(platform: str) -> None:
    assert supported_post_types(platform) == SUPPORTED[platform]


@pytest.mark.parametrize(
    ("platform", "post_type"),
    [(p, t) for p in PLATFORMS for t in POST_TYPES if t not in SUPPORTED[p]],
)
def test_unsupported_post_types_are_refused_with_the_alternatives(platform: str,
                                                                  post_type: str) -> None:
    problem = only(validate_post(post(platform, post_type)), "unsupported_post_type")
    assert (problem.platform, problem.field, problem.actual) == (platform, "post_type", post_type)
    assert supported_post_types(platform)[-1] in problem.message


LIMITS = {
    "facebook": (63206, "utf16"),
    "instagram": (2200, "utf16"),
    "twitter": (280, "weighted_x"),
    "linkedin": (3000, "utf16"),
    "tiktok": (2200, "utf16"),
    "youtube": (5000, "utf8_bytes"),
    "snapchat": (160, "utf16"),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_network_has_its_text_limit(platform: str) -> None:
    assert (RULES[platform].text_limit, RULES[platform].text_counting) == LIMITS[platform]


def test_tag_caps() -> None:
    assert (RULES["instagram"].max_hashtags, RULES["instagram"].max_mentions) == (30, 20)
    assert RULES["twitter"].max_cashtags == 1


# A valid post of each supported type on each network, to prove the happy path is silent.
GOOD_MEDIA = {
    "text": (), "link": (), "image": images(1), "video": (VIDEO,), "reel": (VIDEO,),
    "story": (VIDEO,), "carousel": images(2),
}


@pytest.mark.parametrize(("platform", "post_type"),
                         [(p, t) for p, types in SUPPORTED.items() for t in types])
def test_a_well_formed_post_has_no_problems(platform: str, post_type: str) -> None:
    content = "Spring sale https://shop.example.com" if post_type == "link" else "Spring sale"
    good = post(platform, post_type, content, media_urls=GOOD_MEDIA[post_type])
    assert validate_post(good) == []


# --- X ---------------------------------------------------------------------------------------


def test_x_counts_urls_as_23_and_emoji_and_cjk_as_2() -> None:
    assert x_weighted_length("https://example.com/a/very/long/path?with=query") == 23
    assert x_weighted_length("😀") == 2
    assert x_weighted_length("👨‍👩‍👧") == 2
    assert x_weighted_length("日本") == 4
    assert x_weighted_length("abc") == 3


def test_x_text_at_the_limit_passes_and_one_over_fails() -> None:
    url = "https://example.com/" + "p" * 200  # 220 characters, counted as 23
    at_limit = url + " " + "a" * 256  # 23 + 1 + 256 = 280
    assert validate_post(post("x", content=at_limit)) == []
    problem = only(validate_post(post("x", content=at_limit + "😀")), "too_long")
    assert (problem.platform, problem.limit, problem.actual) == ("twitter", 280, 282)
    assert "280 weighted characters" in problem.message and "Shorten it by 2" in problem.message


def test_x_takes_up_to_four_images_or_one_gif_or_one_video() -> None:
    assert validate_post(post("twitter", "image", media_urls=images(4))) == []
    problem = only(validate_post(post("twitter", "image", media_urls=images(5))), "too_many_media")
    assert (problem.limit, problem.actual) == (4, 5)
    assert validate_post(post("twitter", "video", media_urls=(GIF,))) == []
    assert "too_many_media" in codes(validate_post(post("twitter", "video",
                                                        media_urls=(VIDEO, VIDEO))))


def test_x_refuses_a_video_among_images() -> None:
    problems = validate_post(post("twitter", "image", media_urls=(*images(2), VIDEO)))
    problem = only(problems, "wrong_media_kind")
    assert (problem.field, problem.actual) == ("media_urls[2]", "video")


def test_x_allows_one_cashtag() -> None:
    assert validate_post(post("twitter", content="Buy $AAPL now, not for $100")) == []
    problem = only(validate_post(post("twitter", content="$AAPL or $TSLA?")), "too_many_cashtags")
    assert (problem.limit, problem.actual) == (1, 2)


def test_x_thread_replies_are_checked_one_by_one() -> None:
    thread = ["Second tweet", "", "a" * 281, "$AAPL $MSFT"]
    problems = validate_post(post("twitter", platform_options={"x": {"thread": thread}}))
    assert [(p.field, p.code) for p in problems] == [
        ("options.thread[1]", "required"),
        ("options.thread[2]", "too_long"),
        ("options.thread[3]", "too_many_cashtags"),
    ]


def test_a_thread_that_is_not_a_list_is_reported() -> None:
    problems = validate_post(post("twitter", platform_options={"twitter": {"thread": "oops"}}))
    assert codes(problems) == ["invalid_option"]


# --- Instagram -------------------------------------------------------------------------------


def test_instagram_caption_limit_counts_emoji_as_two() -> None:
    assert validate_post(post("instagram", "image", "😀" * 1100, media_urls=images(1))) == []
    problem = only(validate_post(post("instagram", "image", "😀" * 1101, media_urls=images(1))),
                   "too_long")
    assert (problem.limit, problem.actual) == (2200, 2202)


def test_instagram_counts_listed_and_written_hashtags_together_once() -> None:
    in_text = " ".join(f"#tag{i}" for i in range(20))
    listed = tuple(f"tag{i}" for i in range(10, 30))  # tag10..tag19 are already in the text
    ok = post("instagram", "image", in_text, media_urls=images(1), hashtags=listed)
    assert validate_post(ok) == []
    too_many = replace(ok, hashtags=(*listed, "#one_more"))
    problem = only(validate_post(too_many), "too_many_hashtags")
    assert (problem.field, problem.limit, problem.actual) == ("hashtags", 30, 31)


def test_instagram_allows_twenty_mentions() -> None:
    text = " ".join(f"@user{i}" for i in range(15))
    ok = post("instagram", "image", text, media_urls=images(1),
              mentions=tuple(f"user{i}" for i in range(10, 20)))
    assert validate_post(ok) == []
    problem = only(validate_post(replace(ok, mentions=(*ok.mentions, "@extra"))),
                   "too_many_mentions")
    assert (problem.limit, problem.actual) == (20, 21)


def test_instagram_image_posts_take_one_image_and_carousels_mix_two_to_ten() -> None:
    assert "too_many_media" in codes(validate_post(post("instagram", "image",
                                                        media_urls=images(2))))
    assert validate_post(post("instagram", "carousel", media_urls=(IMG, VIDEO))) == []
    problem = only(validate_post(post("instagram", "carousel", media_urls=images(11))),
                   "too_many_media")
    assert (problem.limit, problem.actual) == (10, 11)
    assert "too_few_media" in codes(validate_post(post("instagram", "carousel",
                                                       media_urls=images(1))))


# --- Facebook, LinkedIn ----------------------------------------------------------------------


def test_facebook_carousel_takes_two_to_ten_images_and_no_video() -> None:
    assert validate_post(post("facebook", "carousel", media_urls=images(10))) == []
    problems = validate_post(post("facebook", "carousel", media_urls=(*images(10), VIDEO)))
    assert sorted(codes(problems)) == ["too_many_media", "wrong_media_kind"]


def test_facebook_text_posts_take_no_media() -> None:
    problem = only(validate_post(post("facebook", "text", media_urls=images(1))), "too_many_media")
    assert (problem.limit, problem.actual) == (0, 1)


def test_linkedin_multi_image_takes_up_to_twenty_and_commentary_3000() -> None:
    assert validate_post(post("linkedin", "carousel", media_urls=images(20))) == []
    assert "too_many_media" in codes(validate_post(post("linkedin", "carousel",
                                                        media_urls=images(21))))
    problem = only(validate_post(post("linkedin", content="a" * 3001)), "too_long")
    assert (problem.limit, problem.actual) == (3000, 3001)


def test_link_posts_need_a_link() -> None:
    problem = only(validate_post(post("linkedin", "link", "No address here")), "missing_link")
    assert problem.platform == "linkedin"


# --- TikTok ----------------------------------------------------------------------------------


def test_tiktok_refuses_png_photos() -> None:
    problems = validate_post(post("tiktok", "carousel", media_urls=(IMG.format(1), PNG)))
    problem = only(problems, "unsupported_media_format")
    assert (problem.field, problem.actual) == ("media_urls[1]", "png")
    assert "JPEG or WEBP" in problem.message


def test_tiktok_accepts_jpeg_and_webp_and_leaves_unknown_formats_to_tiktok() -> None:
    declared = "https://cdn.example.com/media/abc123"
    media = (IMG.format(1), "https://cdn.example.com/x.webp?v=2", declared)
    photo_post = post("tiktok", "carousel", media_urls=media, media_kinds={declared: "image"})
    assert validate_post(photo_post) == []
    png_by_mime = replace(photo_post, media_kinds={declared: "image/png"})
    assert codes(validate_post(png_by_mime)) == ["unsupported_media_format"]


def test_tiktok_photo_posts_take_up_to_35_photos_with_title_90_and_description_4000() -> None:
    assert validate_post(post("tiktok", "carousel", media_urls=images(35))) == []
    assert "too_many_media" in codes(validate_post(post("tiktok", "carousel",
                                                        media_urls=images(36))))
    photos = post("tiktok", "carousel", "a" * 4000, media_urls=images(3), title="t" * 90)
    assert validate_post(photos) == []
    problems = validate_post(replace(photos, content="a" * 4001, title="t" * 91))
    assert sorted((p.field, p.limit) for p in problems) == [("content", 4000), ("title", 90)]


def test_tiktok_video_caption_is_2200_utf16_units() -> None:
    assert validate_post(post("tiktok", "video", "😀" * 1100, media_urls=(VIDEO,))) == []
    problem = only(validate_post(post("tiktok", "video", "😀" * 1101, media_urls=(VIDEO,))),
                   "too_long")
    assert problem.actual == 2202


# --- YouTube ---------------------------------------------------------------------------------


def test_youtube_title_defaults_to_the_first_line() -> None:
    video = post("youtube", "video", "\n  Launch day recap  \nMore below", media_urls=(VIDEO,))
    assert title_for_platform(video, "youtube") == "Launch day recap"
    assert title_for_platform(replace(video, title=" Our  launch "), "youtube") == "Our launch"
    assert title_for_platform(video, "facebook") is None


def test_youtube_title_is_one_to_100_characters_without_angle_brackets() -> None:
    video = post("youtube", "video", "Recap", media_urls=(VIDEO,), title="t" * 100)
    assert validate_post(video) == []
    problem = only(validate_post(replace(video, title="t" * 101)), "too_long")
    assert (problem.field, problem.limit, problem.actual) == ("title", 100, 101)
    problem = only(validate_post(replace(video, title="1 < 2")), "invalid_character")
    assert (problem.field, problem.actual) == ("title", "<")


def test_youtube_needs_a_title() -> None:
    video = post("youtube", "reel", "Recap", media_urls=(VIDEO,),
                 platform_specific_content={"youtube": "   "})
    assert validate_post(video) == []  # a blank override falls back to the content
    problems = validate_for_platform(replace(video, content=" "), "youtube")
    assert [(p.platform, p.field, p.code) for p in problems] == [
        (None, "content", "required"), ("youtube", "title", "required")]
    assert validate_post(replace(video, content=" ", title="Recap")) == [problems[0]]


def test_youtube_description_is_5000_bytes_without_angle_brackets() -> None:
    video = post("youtube", "video", "é" * 2500, media_urls=(VIDEO,), title="Recap")
    assert validate_post(video) == []
    problems = validate_post(replace(video, content="é" * 2500 + "<b>"))
    assert sorted(codes(problems)) == ["invalid_character", "too_long"]
    problem = only(problems, "too_long")
    assert (problem.field, problem.limit, problem.actual) == ("description", 5000, 5003)


def test_youtube_refuses_images() -> None:
    problems = validate_post(post("youtube", "image", media_urls=images(1)))
    assert codes(problems) == ["unsupported_post_type"]


# --- Snapchat --------------------------------------------------------------------------------


def test_snapchat_spotlight_description_is_160_characters_with_hashtags() -> None:
    spotlight = post("snapchat", "reel", "a" * 150, media_urls=(VIDEO,))
    assert validate_post(spotlight) == []
    problem = only(validate_post(replace(spotlight, hashtags=("snap", "spotlight"))), "too_long")
    assert (problem.limit, problem.actual) == (160, 150 + 2 + len("#snap #spotlight"))


def test_snapchat_stories_take_one_media_and_saved_story_titles_45() -> None:
    story = post("snapchat", "story", media_urls=images(1), title="s" * 45)
    assert validate_post(story) == []
    assert codes(validate_post(replace(story, title="s" * 46))) == ["too_long"]
    assert codes(validate_post(replace(story, media_urls=images(2)))) == ["too_many_media"]
    assert codes(validate_post(replace(story, post_type="carousel"))) == ["unsupported_post_type"]


def test_snapchat_rules_say_it_is_allowlisted() -> None:
    assert "allowlist" in RULES["snapchat"].notes


# --- post-wide rules -------------------------------------------------------------------------


def test_every_problem_is_returned_at_once() -> None:
    bad = PostContent(
        content="   ",
        post_type="image",
        platforms=("instagram", "youtube", "friendster", "x"),
        media_urls=("http://insecure.example.com/a.jpg", "https://cdn.example.com/blob",
                    *images(4), VIDEO),
        hashtags=("ok", "not ok"),
    )
    found = {(p.platform, p.field, p.code) for p in validate_post(bad)}
    assert found >= {
        (None, "platforms", "unknown_platform"),
        (None, "content", "required"),
        (None, "media_urls[0]", "invalid_url"),
        (None, "media_urls[1]", "unknown_media_kind"),
        (None, "hashtags[1]", "invalid_hashtag"),
        ("instagram", "media_urls", "too_many_media"),
        ("instagram", "media_urls[6]", "wrong_media_kind"),
        ("youtube", "post_type", "unsupported_post_type"),
        ("youtube", "title", "required"),
        ("twitter", "media_urls", "too_many_media"),
        ("twitter", "media_urls[6]", "wrong_media_kind"),
    }


def test_unknown_and_missing_post_types_are_reported() -> None:
    assert codes(validate_post(post("facebook", "poll"))) == ["unknown_post_type"]
    assert codes(validate_post(post("facebook", " "))) == ["required"]


@pytest.mark.parametrize("url", ["http://cdn.example.com/a.jpg", "/media/a.jpg", "cdn.example.com/a.jpg",
                                 "https://", "https://exa mple.com/a.jpg", "ftp://x.com/a.jpg", ""])
def test_media_must_be_absolute_https_urls(url: str) -> None:
    problem = only(validate_post(post("facebook", "image", media_urls=(url,))), "invalid_url")
    assert problem.field == "media_urls[0]"


def test_blocked_terms_match_whole_words_and_phrases_case_insensitively() -> None:
    terms = ["free money", "scam"]
    assert codes(validate_post(post("facebook", content="Get FREE\n money now"),
                               blocked_terms=terms)) == ["blocked_term"]
    assert validate_post(post("facebook", content="Scammers are not us, freemoney"),
                         blocked_terms=terms) == []


def test_blocked_terms_are_checked_in_every_platform_text() -> None:
    multi = PostContent(content="Great deal", post_type="text", platforms=("facebook", "x"),
                        platform_specific_content={"X": "Great scam"},
                        platform_options={"twitter": {"thread": ["another SCAM"]}})
    problems = validate_post(multi, blocked_terms=["scam"])
    assert [(p.platform, p.field) for p in problems] == [
        ("twitter", "content"), ("twitter", "options.thread[0]")]


def test_content_may_be_blank_when_every_platform_has_its_own_text() -> None:
    multi = PostContent(content="", post_type="text", platforms=("facebook", "linkedin"),
                        platform_specific_content={"facebook": "Hi FB", "linkedin": "Hi LI"})
    assert validate_post(multi) == []
    assert codes(validate_post(replace(multi, platforms=("facebook", "twitter")))) == ["required"]


def test_require_valid_raises_with_every_problem() -> None:
    require_valid(post("facebook"))
    with pytest.raises(ValidationFailed) as caught:
        require_valid(post("instagram", content="win a car", media_urls=images(1)),
                      blocked_terms=["win"])
    assert sorted(p.code for p in caught.value.problems) == ["blocked_term",
                                                             "unsupported_post_type"]


def test_validate_for_platform_checks_one_network_and_the_post_itself() -> None:
    multi = PostContent(content="Hi", post_type="text", platforms=("facebook", "instagram"),
                        media_urls=("http://a.example.com/a.jpg",))
    assert codes(validate_for_platform(multi, "facebook")) == ["invalid_url", "too_many_media"]
    assert codes(validate_for_platform(multi, "nope")) == ["unknown_platform"]


# --- text ------------------------------------------------------------------------------------


def test_text_for_platform_uses_the_override_and_appends_hashtags() -> None:
    multi = PostContent(content="Hello #Launch", post_type="text", platforms=("facebook", "x"),
                        hashtags=("#launch", "Spring", "spring"),
                        platform_specific_content={"x": "Hi\r\nX\x00 "})
    assert text_for_platform(multi, "facebook") == "Hello #Launch\n\n#Spring"
    assert text_for_platform(multi, "twitter") == "Hi\nX\n\n#launch #Spring"


def test_normalize_text() -> None:
    assert normalize_text("  e\u0301t\x07e\r\nnext\tline\r\n\n ") == "\u00e9te\nnext\tline"


def test_lengths() -> None:
    assert (codepoint_length("a😀"), utf16_length("a😀"), utf8_length("a😀")) == (2, 3, 5)
    assert text_length("x", "a https://example.com") == 25
    assert text_length("youtube", "é") == 2


def test_extract_tags() -> None:
    text = ("Join #Launch2026 and #launch2026 #café #日本 with @Herald_HQ and @anna.b. "
            "mail a@b.com https://x.com/#frag &#39; $AAPL $100 #2026")
    assert extract_hashtags(text) == ["#Launch2026", "#café", "#日本"]
    assert extract_mentions(text) == ["@Herald_HQ", "@anna.b"]
    assert extract_cashtags(text) == ["$AAPL"]


def test_compose_text() -> None:
    assert compose_text("Hello", []) == "Hello"
    assert compose_text("Hello #World", ["world", "#New", " ##new ", "bad tag"]) == \
        "Hello #World\n\n#New"
    assert compose_text("", ["a"]) == "#a"


# --- media -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "declared", "kind"),
    [
        ("https://a.com/p.JPG?size=large#x", None, "image"),
        ("https://a.com/p.jpeg", None, "image"),
        ("https://a.com/p.webp", None, "image"),
        ("https://a.com/p.heic", None, "image"),
        ("https://a.com/p.gif", None, "gif"),
        ("https://a.com/v.MOV", None, "video"),
        ("https://a.com/v.m4v", None, "video"),
        ("https://a.com/v.webm", None, "video"),
        ("https://a.com/deck.pptx", None, "document"),
        ("https://a.com/doc.pdf?x=1.mp4", None, "document"),
        ("https://a.com/blob", None, "unknown"),
        ("https://a.com/blob", "video", "video"),
        ("https://a.com/blob", "video/mp4", "video"),
        ("https://a.com/p.jpg", "GIF", "gif"),
        ("https://a.com/p.jpg", "audio", "image"),
    ],
)
def test_media_kind(url: str, declared: str | None, kind: str) -> None:
    assert media_kind(url, declared) == kind
    assert kind in MEDIA_KINDS


def test_image_format() -> None:
    assert image_format("https://a.com/p.JPG?x=y") == "jpeg"
    assert image_format("https://a.com/p.png") == "png"
    assert image_format("https://a.com/p") == "unknown"
    assert image_format("https://a.com/p", "image/webp") == "webp"
