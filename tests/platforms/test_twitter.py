"""X specifics: weighted text, media uploads, threads, rate-limit headers, PKCE."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.clock import FixedClock
from core.domain.text import x_weighted_length
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    RetryablePlatformError,
    UnknownOutcome,
)
from core.platforms import AccountCredentials, Connector, PublishRequest
from core.platforms.sandbox import Sandbox, SandboxConfig
from core.platforms.twitter import CHUNK_BYTES
from tests.platforms.conftest import NOW, ConnectorFactory, FakeSleep
from tests.platforms.contract import CASES, GIF, MEDIA

X = next(case for case in CASES if case.platform == "twitter")


@pytest.fixture
def x(connect: ConnectorFactory) -> Connector:
    return connect("twitter")


@pytest.fixture
def acme(sandbox: Sandbox) -> AccountCredentials:
    return X.register(sandbox)


def weighted(target: int) -> str:
    """A text of exactly ``target`` weighted characters with two URLs and emoji in it."""
    head = "Launch day 🚀 https://example.com/a/very/long/path/that/counts/as/23 and 🎉 "
    tail = " https://herald.example/blog"
    filler = "x" * (target - x_weighted_length(head + tail))
    text = head + filler + tail
    assert x_weighted_length(text) == target
    return text


def tweet(text: str, **kwargs: Any) -> PublishRequest:
    return PublishRequest("p", "twitter", "text", text, **kwargs)


def test_a_280_weighted_tweet_with_urls_and_emoji_is_accepted(
    x: Connector, acme: AccountCredentials, sandbox: Sandbox
) -> None:
    text = weighted(280)
    assert len(text) > 280  # the URLs are long; X counts them as 23

    x.publish(tweet(text), acme)

    assert sandbox.posts("twitter")[0].text == text


def test_a_281_weighted_tweet_is_refused_with_xs_own_error(
    x: Connector, acme: AccountCredentials, sandbox: Sandbox
) -> None:
    with pytest.raises(PermanentPlatformError) as caught:
        x.publish(tweet(weighted(281)), acme)

    assert caught.value.status == 400
    assert "Your Tweet text is too long" in caught.value.network_message
    assert sandbox.posts("twitter") == []
    assert [p.code for p in x.validate(tweet(weighted(281)))] == ["too_long"]


def test_the_same_text_twice_is_xs_403_duplicate(x: Connector, acme: AccountCredentials) -> None:
    x.publish(tweet("Same words, twice"), acme)

    with pytest.raises(PermanentPlatformError) as caught:
        x.publish(tweet("Same words, twice"), acme)

    assert caught.value.status == 403
    assert caught.value.network_code == "duplicate"
    assert "duplicate content" in caught.value.network_message


def test_video_goes_through_chunked_upload_and_status_polling(
    x: Connector, acme: AccountCredentials, sandbox: Sandbox, sleep: FakeSleep
) -> None:
    size = 2 * CHUNK_BYTES + 1000
    request = PublishRequest("p", "twitter", "video", "Watch this",
                             media_urls=(f"{MEDIA}/launch.mp4?bytes={size}",))

    result = x.publish(request, acme)

    media_id = sandbox.posts("twitter")[0].media[0]
    upload = sandbox.networks["twitter"].media[media_id]  # type: ignore[attr-defined]
    assert upload["segments"] == {0: CHUNK_BYTES, 1: CHUNK_BYTES, 2: 1000}
    assert upload["category"] == "tweet_video"
    assert sleep.total >= 4.0  # the sandbox processes video for 4 s of its clock
    assert result.url.endswith(result.external_id)


def test_a_gif_is_uploaded_as_tweet_gif(x: Connector, acme: AccountCredentials,
                                        sandbox: Sandbox) -> None:
    x.publish(PublishRequest("p", "twitter", "video", "Loop", media_urls=(GIF,)), acme)

    media_id = sandbox.posts("twitter")[0].media[0]
    assert sandbox.networks["twitter"].media[media_id]["category"] == "tweet_gif"  # type: ignore[attr-defined]


def test_an_image_too_large_for_x_is_refused_before_upload(
    x: Connector, acme: AccountCredentials, sandbox: Sandbox
) -> None:
    request = PublishRequest("p", "twitter", "image", "Big",
                             media_urls=(f"{MEDIA}/huge.jpg?bytes={6 * 1024**2}",))

    with pytest.raises(PermanentPlatformError) as caught:
        x.publish(request, acme)

    assert "huge.jpg" in caught.value.network_message
    assert "limit" in caught.value.network_message


def test_a_thread_is_published_as_chained_replies(
    x: Connector, acme: AccountCredentials, sandbox: Sandbox
) -> None:
    result = x.publish(tweet("1/3 The plan", options={"thread": ["2/3 Details", "3/3 Go!"]}), acme)

    posts = sandbox.posts("twitter")
    assert [p.text for p in posts] == ["1/3 The plan", "2/3 Details", "3/3 Go!"]
    assert [p.reply_to for p in posts] == [None, posts[0].id, posts[1].id]
    assert result.external_id == posts[0].id
    assert result.raw["thread_ids"] == [p.id for p in posts]


def test_a_thread_reply_that_fails_leaves_the_head_published_and_says_where_it_stopped(
    x: Connector, acme: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject("twitter", "server_error", on="publish", skip=2)

    result = x.publish(tweet("Head", options={"thread": ["Second", "Third", "Fourth"]}), acme)

    assert [p.text for p in sandbox.posts("twitter")] == ["Head", "Second"]
    assert result.raw["thread_error"]["index"] == 1
    assert result.raw["thread_error"]["error"] == "platform_retryable"


def test_429_retry_after_comes_from_x_rate_limit_reset(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"twitter": {"tweets:create": 2}}))
    x = connect("twitter", sandbox=sandbox)
    account = X.register(sandbox)
    x.publish(tweet("one"), account)
    x.publish(tweet("two"), account)

    with pytest.raises(RetryablePlatformError) as caught:
        x.publish(tweet("three"), account)

    assert caught.value.status == 429
    assert caught.value.retry_after == NOW + timedelta(minutes=15)


def test_the_24_hour_user_limit_sets_a_later_retry_after(connect: ConnectorFactory,
                                                         clock: FixedClock) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"twitter": {"tweets:24h": 1}}))
    x = connect("twitter", sandbox=sandbox)
    account = X.register(sandbox)
    x.publish(tweet("one"), account)

    with pytest.raises(RetryablePlatformError) as caught:
        x.publish(tweet("two"), account)

    assert caught.value.retry_after == NOW + timedelta(hours=24)


def test_authorize_url_uses_pkce_s256_and_the_publish_scopes(x: Connector) -> None:
    url = x.authorize_url("st", "https://herald.test/cb", "challenge-abc")

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path.endswith("/i/oauth2/authorize")
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == ["challenge-abc"]
    assert set(query["scope"][0].split()) >= {"tweet.write", "media.write", "offline.access"}
    with pytest.raises(ValueError, match="PKCE"):
        x.authorize_url("st", "https://herald.test/cb")


def test_a_wrong_code_verifier_is_refused(x: Connector, sandbox: Sandbox) -> None:
    url = x.authorize_url("st", "https://herald.test/cb", "not-the-challenge-of-the-verifier")
    with httpx.Client(transport=sandbox.transport()) as browser:
        code = parse_qs(urlsplit(browser.get(url).headers["location"]).query)["code"][0]

    with pytest.raises(AuthPlatformError):
        x.exchange_code(code, "https://herald.test/cb", "some-verifier")


def test_find_existing_sees_through_tco_links_and_html_entities(
    x: Connector, acme: AccountCredentials, sandbox: Sandbox
) -> None:
    request = tweet("Fish & chips <today> at https://example.com/menu?x=1")
    sandbox.inject("twitter", "lost_response")
    with pytest.raises(UnknownOutcome):
        x.publish(request, acme)

    found = x.find_existing(request, acme)

    assert found is not None
    assert "t.co" in found.raw["text"] and "&amp;" in found.raw["text"]
