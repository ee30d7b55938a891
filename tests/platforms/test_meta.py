"""Facebook and Instagram specifics: Meta's error codes and usage headers, video processing,
reels, stories, container expiry, carousels and Instagram Login refresh."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.clock import FixedClock
from core.errors import AuthPlatformError, PermanentPlatformError, RetryablePlatformError
from core.platforms import AccountCredentials, Connector, PollPolicy, PublishRequest
from core.platforms.instagram import InstagramConnector
from core.platforms.sandbox import Sandbox, SandboxConfig
from tests.platforms.conftest import NOW, ConnectorFactory, FakeSleep
from tests.platforms.contract import CASES, IMAGE, IMAGE_2, MEDIA, VIDEO

FB = next(case for case in CASES if case.platform == "facebook")
IG = next(case for case in CASES if case.platform == "instagram")


@pytest.fixture
def fb(connect: ConnectorFactory) -> Connector:
    return connect("facebook")


@pytest.fixture
def page(sandbox: Sandbox) -> AccountCredentials:
    return FB.register(sandbox)


@pytest.fixture
def ig(connect: ConnectorFactory) -> InstagramConnector:
    connector = connect("instagram")
    assert isinstance(connector, InstagramConnector)
    return connector


@pytest.fixture
def shop(sandbox: Sandbox) -> AccountCredentials:
    return IG.register(sandbox)


# --- Facebook ------------------------------------------------------------------------------


def test_the_same_status_twice_is_metas_duplicate_506(fb: Connector, page: AccountCredentials) -> None:
    request = PublishRequest("p", "facebook", "text", "We are open on Sunday")
    fb.publish(request, page)

    with pytest.raises(PermanentPlatformError) as caught:
        fb.publish(request, page)

    assert caught.value.network_code == "506/1455006"
    assert "Duplicate status message" in caught.value.network_message


def test_photos_are_uploaded_unpublished_then_attached_to_one_feed_post(
    fb: Connector, page: AccountCredentials, sandbox: Sandbox
) -> None:
    result = fb.publish(PublishRequest("p", "facebook", "carousel", "Two photos",
                                       media_urls=(IMAGE, IMAGE_2)), page)

    posts = sandbox.posts("facebook")
    assert len(posts) == 1  # the photos themselves are not posts
    assert posts[0].media == (IMAGE, IMAGE_2)
    assert result.url == f"https://www.facebook.com/{page.external_account_id}/posts/{result.external_id.split('_')[1]}"


def test_a_link_post_sends_the_first_url_as_the_link(fb: Connector, page: AccountCredentials,
                                                      sandbox: Sandbox) -> None:
    fb.publish(PublishRequest("p", "facebook", "link", "Read https://acme.test/blog."), page)

    post_id = sandbox.posts("facebook")[0].id
    assert sandbox.networks["facebook"].objects[post_id]["link"] == "https://acme.test/blog"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "header", "wait"), [
    (80001, "x-business-use-case-usage", timedelta(minutes=25)),
    (32, "x-business-use-case-usage", timedelta(minutes=25)),
    (4, "x-app-usage", timedelta(hours=1)),  # no estimate in X-App-Usage: wait an hour
    (17, "x-app-usage", timedelta(hours=1)),
    (613, "x-app-usage", timedelta(hours=1)),
])
def test_meta_throttle_codes_are_retryable_with_the_buc_estimate(
    fb: Connector, page: AccountCredentials, sandbox: Sandbox, code: int, header: str,
    wait: timedelta,
) -> None:
    sandbox.inject("facebook", "rate_limit", code=code, reset_in=25 * 60)

    with pytest.raises(RetryablePlatformError) as caught:
        fb.publish(PublishRequest("p", "facebook", "text", "Throttled"), page)

    assert caught.value.network_code == code
    assert caught.value.status == 400
    assert caught.value.retry_after == NOW + wait


def test_the_page_call_budget_throttles_with_80001(connect: ConnectorFactory,
                                                   clock: FixedClock) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"facebook": {"calls_per_hour": 3}}))
    fb = connect("facebook", sandbox=sandbox)
    page = FB.register(sandbox)
    for n in range(3):
        fb.publish(PublishRequest("p", "facebook", "text", f"post {n}"), page)  # one call each

    with pytest.raises(RetryablePlatformError) as caught:
        fb.publish(PublishRequest("p", "facebook", "text", "one too many"), page)

    assert caught.value.network_code == 80001
    assert caught.value.retry_after == NOW + timedelta(hours=1)


def test_an_expired_page_token_is_code_190(fb: Connector, page: AccountCredentials,
                                           sandbox: Sandbox) -> None:
    sandbox.inject("facebook", "token_expired", expire_token=True)

    with pytest.raises(AuthPlatformError) as caught:
        fb.publish(PublishRequest("p", "facebook", "text", "Hello"), page)
    with pytest.raises(AuthPlatformError):  # the token stays expired
        fb.publish(PublishRequest("p", "facebook", "text", "Hello again"), page)

    assert caught.value.network_code == "190/463"


def test_a_reel_uploads_its_bytes_then_finishes_and_waits_for_processing(
    fb: Connector, page: AccountCredentials, sandbox: Sandbox, sleep: FakeSleep
) -> None:
    result = fb.publish(PublishRequest("p", "facebook", "reel", "Behind the scenes",
                                       media_urls=(f"{MEDIA}/reel.mp4?bytes=250000",)), page)

    video = sandbox.networks["facebook"].objects[result.external_id]  # type: ignore[attr-defined]
    assert video["uploaded"] == video["file_size"] == 250000
    assert result.url == f"https://www.facebook.com/reel/{result.external_id}"
    assert result.raw["status"]["video_status"] == "ready"
    assert sleep.total >= 4.0


def test_a_reel_that_fails_processing_reports_metas_error_code(
    fb: Connector, page: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject("facebook", "processing_failed", error_code=1363128)

    with pytest.raises(PermanentPlatformError) as caught:
        fb.publish(PublishRequest("p", "facebook", "reel", "Wrong aspect", media_urls=(VIDEO,)), page)

    assert caught.value.network_code == "1363128"


def test_a_slow_video_is_returned_once_the_bounded_wait_runs_out(
    connect: ConnectorFactory, clock: FixedClock, sleep: FakeSleep
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(processing_seconds={"video": 3600}))
    fb = connect("facebook", sandbox=sandbox, poll=PollPolicy(max_wait_seconds=60))
    page = FB.register(sandbox)

    result = fb.publish(PublishRequest("p", "facebook", "video", "Long film",
                                       media_urls=(VIDEO,)), page)

    assert result.raw["status"]["video_status"] == "processing"
    assert sleep.total <= 60
    assert result.url.endswith(f"/videos/{result.external_id}/")


def test_photo_and_video_stories(fb: Connector, page: AccountCredentials, sandbox: Sandbox) -> None:
    photo = fb.publish(PublishRequest("p", "facebook", "story", "", media_urls=(IMAGE,)), page)
    video = fb.publish(PublishRequest("p", "facebook", "story", "", media_urls=(VIDEO,)), page)

    assert [p.id for p in sandbox.posts("facebook")] == [photo.external_id, video.external_id]
    assert photo.url == f"https://www.facebook.com/stories/{photo.external_id}"


def test_a_user_token_cannot_post_as_the_page(fb: Connector, sandbox: Sandbox) -> None:
    sandbox.register_account("facebook", "101000000000077", "Other Page", "page-token")
    record = sandbox.issue_token("facebook", "101000000000077", kind="user")
    user = AccountCredentials("facebook", "101000000000077", "Other Page", record.token)

    with pytest.raises(PermanentPlatformError) as caught:
        fb.publish(PublishRequest("p", "facebook", "text", "As the page"), user)

    assert caught.value.network_code == 200


def test_oauth_picks_the_page_and_its_non_expiring_page_token(fb: Connector, sandbox: Sandbox) -> None:
    url = fb.authorize_url("s", "https://herald.test/cb")
    assert "scope=pages_show_list%2Cpages_read_engagement%2Cpages_manage_posts" in url
    with httpx.Client(transport=sandbox.transport()) as browser:
        code = parse_qs(urlsplit(browser.get(url).headers["location"]).query)["code"][0]

    tokens = fb.exchange_code(code, "https://herald.test/cb")

    assert tokens.expires_at is None and tokens.refresh_token is None
    assert tokens.account["extra"]["page_id"] == tokens.account["external_account_id"]
    assert tokens.account["user_token_expires_at"] > NOW + timedelta(days=59)
    assert len(tokens.account["choices"]) == 1


# --- Instagram -----------------------------------------------------------------------------


def test_a_container_that_expires_before_processing_ends_is_a_clear_error(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(processing_seconds={"video": 30 * 3600}))
    ig = connect("instagram", sandbox=sandbox, poll=PollPolicy(max_wait_seconds=48 * 3600,
                                                                 max_interval_seconds=3600))
    shop = IG.register(sandbox)

    with pytest.raises(PermanentPlatformError) as caught:
        ig.publish(PublishRequest("p", "instagram", "reel", "Slow", media_urls=(VIDEO,)), shop)

    assert caught.value.network_code == "EXPIRED"
    assert "expire 24 hours after creation" in caught.value.network_message
    assert sandbox.posts("instagram") == []


def test_an_expired_status_stops_publishing(
    ig: Connector, shop: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject("instagram", "processing_failed", status="EXPIRED")

    with pytest.raises(PermanentPlatformError) as caught:
        ig.publish(PublishRequest("p", "instagram", "image", "Late", media_urls=(IMAGE,)), shop)

    assert caught.value.network_code == "EXPIRED"


def test_publishing_an_expired_container_gets_metas_2207020(
    ig: InstagramConnector, shop: AccountCredentials, clock: FixedClock
) -> None:
    container = ig._container({"image_url": IMAGE, "caption": "Yesterday"}, shop)
    clock.advance(timedelta(hours=25))

    with pytest.raises(PermanentPlatformError) as caught:
        ig.call("POST", f"{shop.external_account_id}/media_publish", token=shop.access_token,
                json={"creation_id": container})

    assert caught.value.network_code == "100/2207020"
    assert "expired" in caught.value.network_message


def test_a_carousel_publishes_its_children_in_one_post(
    ig: Connector, shop: AccountCredentials, sandbox: Sandbox
) -> None:
    urls = (IMAGE, VIDEO, IMAGE_2)

    result = ig.publish(PublishRequest("p", "instagram", "carousel", "Three in one",
                                       media_urls=urls), shop)

    posts = sandbox.posts("instagram")
    assert len(posts) == 1
    assert (posts[0].post_type, posts[0].media) == ("carousel", urls)
    media = sandbox.networks["instagram"].objects[result.external_id]  # type: ignore[attr-defined]
    assert media["media_type"] == "CAROUSEL_ALBUM" and len(media["children_ids"]) == 3
    assert result.url.startswith("https://www.instagram.com/p/")


@pytest.mark.parametrize("count", [1, 11])
def test_instagram_refuses_a_carousel_outside_2_to_10_items(
    ig: Connector, shop: AccountCredentials, sandbox: Sandbox, count: int
) -> None:
    request = PublishRequest("p", "instagram", "carousel", "Wrong size",
                             media_urls=tuple(f"{MEDIA}/{n}.jpg" for n in range(count)))
    assert any(p.code in ("too_few_media", "too_many_media") for p in ig.validate(request))

    with pytest.raises(PermanentPlatformError) as caught:
        ig.publish(request, shop)

    assert caught.value.network_code == "100/2207028"
    assert sandbox.posts("instagram") == []


def test_a_failed_container_keeps_instagrams_status_text(
    ig: Connector, shop: AccountCredentials, sandbox: Sandbox
) -> None:
    sandbox.inject("instagram", "processing_failed", error_code=2207026)

    with pytest.raises(PermanentPlatformError) as caught:
        ig.publish(PublishRequest("p", "instagram", "reel", "Bad codec", media_urls=(VIDEO,)), shop)

    assert "2207026" in caught.value.network_message


def test_the_daily_publishing_quota_is_retryable(connect: ConnectorFactory, clock: FixedClock) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"instagram": {"posts_per_24h": 1}}))
    ig = connect("instagram", sandbox=sandbox)
    shop = IG.register(sandbox)
    ig.publish(PublishRequest("p", "instagram", "image", "First", media_urls=(IMAGE,)), shop)

    with pytest.raises(RetryablePlatformError) as caught:
        ig.publish(PublishRequest("p", "instagram", "image", "Second", media_urls=(IMAGE,)), shop)

    assert caught.value.network_code == "9/2207042"
    assert caught.value.retry_after is not None and caught.value.retry_after > clock.now()


def test_instagram_login_tokens_refresh_once_they_are_a_day_old(
    ig: Connector, sandbox: Sandbox, clock: FixedClock
) -> None:
    sandbox.register_account("instagram", "17841400000000099", "acme.login", "IGAA-old",
                             expires_at=NOW + timedelta(days=60))
    account = AccountCredentials("instagram", "17841400000000099", "acme.login", "IGAA-old",
                                 extra={"login": "instagram"})
    with pytest.raises(PermanentPlatformError, match="too new"):
        ig.refresh_token(account)
    clock.advance(timedelta(hours=25))

    tokens = ig.refresh_token(account)

    assert tokens.access_token != "IGAA-old"
    assert tokens.expires_at is not None and tokens.expires_at > clock.now() + timedelta(days=59)
    renewed = AccountCredentials("instagram", "17841400000000099", "acme.login",
                                 tokens.access_token, extra={"login": "instagram"})
    assert ig.publish(PublishRequest("p", "instagram", "image", "Via IG Login",
                                     media_urls=(IMAGE,)), renewed).external_id


def test_story_permalinks_point_at_the_account_stories(
    ig: Connector, shop: AccountCredentials
) -> None:
    result = ig.publish(PublishRequest("p", "instagram", "story", "", media_urls=(VIDEO,)), shop)

    assert result.url == f"https://www.instagram.com/stories/acme.shop/{result.external_id}/"
