"""Snapchat specifics: media really is AES-256-CBC encrypted (the sandbox decrypts it and
refuses what does not decrypt), multipart parts, Saved Story titles, Spotlight limits and
video-only Spotlight, stories that expire, the allowlist, Snap's errors and OAuth."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.clock import FixedClock
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    RetryablePlatformError,
    UnknownOutcome,
)
from core.platforms import AccountCredentials, MediaFetchError, PublishRequest
from core.platforms.sandbox import Sandbox, SandboxConfig
from core.platforms.sandbox.base import parse_multipart
from core.platforms.snapchat import SnapchatConnector, snapchat_error
from tests.platforms.conftest import NOW, ConnectorFactory
from tests.platforms.contract import CASES, IMAGE, VIDEO

SNAP = next(case for case in CASES if case.platform == "snapchat")
BASE = "http://sandbox.herald.local/snapchat"


class Recorder(httpx.BaseTransport):
    """Sends to the sandbox; ``rewrite`` may replace a request first. Keeps what was sent."""

    def __init__(self, sandbox: Sandbox,
                 rewrite: Callable[[httpx.Request], httpx.Request] | None = None) -> None:
        self.sandbox = sandbox
        self.rewrite = rewrite
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self.rewrite is not None:
            request = self.rewrite(request)
        self.sent.append(request)
        return self.sandbox.handle(request)

    def to(self, fragment: str) -> list[httpx.Request]:
        return [r for r in self.sent if fragment in str(r.url)]


def snapchat(connect: ConnectorFactory, **kwargs: Any) -> SnapchatConnector:
    connector = connect("snapchat", **kwargs)
    assert isinstance(connector, SnapchatConnector)
    return connector


@pytest.fixture
def profile(sandbox: Sandbox) -> AccountCredentials:
    return SNAP.register(sandbox)


def post(post_type: str = "story", media: str = IMAGE, text: str = "", **kwargs: Any) -> PublishRequest:
    return PublishRequest("p-7", "snapchat", post_type, text or "Fresh drop #herald",
                          media_urls=(media,), **kwargs)


def original(sandbox: Sandbox, url: str) -> bytes:
    with httpx.Client(transport=sandbox.transport()) as client:
        return client.get(url).content


def file_parts(requests: list[httpx.Request]) -> list[bytes]:
    return [parse_multipart(r.content, r.headers["content-type"])["file"].data for r in requests]


def stored_media(sandbox: Sandbox) -> list[dict[str, Any]]:
    return list(sandbox.networks["snapchat"].media.values())  # type: ignore[attr-defined]


# --- encryption ------------------------------------------------------------------------------


def test_media_is_encrypted_and_the_sandbox_decrypts_it_back(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)

    result = snapchat(connect, transport=recorder).publish(post(), profile)

    plain = original(sandbox, IMAGE)
    created = json.loads(recorder.to("/media")[1].content)  # [0] fetched the image
    assert (created["type"], created["name"]) == ("IMAGE", "herald-p-7")
    assert len(base64.b64decode(created["key"])) == 32
    assert len(base64.b64decode(created["iv"])) == 16
    [part] = file_parts(recorder.to("action=ADD"))
    assert plain[:64] not in part  # ciphertext, not the file
    assert len(part) > len(plain) and len(part) % 16 == 0
    media = stored_media(sandbox)[0]
    assert media["digest"] == hashlib.sha256(plain).hexdigest()  # decrypted back exactly
    assert sandbox.posts("snapchat")[0].id == result.external_id


def test_media_that_does_not_decrypt_with_its_key_is_refused(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials
) -> None:
    def another_key(request: httpx.Request) -> httpx.Request:
        if request.method != "POST" or not request.url.path.endswith("/media"):
            return request
        body = json.loads(request.content)
        body["key"] = base64.b64encode(secrets.token_bytes(32)).decode()
        return httpx.Request("POST", request.url, json=body,
                             headers={"Authorization": request.headers["authorization"]})

    with pytest.raises(PermanentPlatformError) as caught:
        snapchat(connect, transport=Recorder(sandbox, another_key)).publish(post(), profile)

    assert caught.value.status == 400
    assert "could not be decrypted" in caught.value.network_message
    assert sandbox.posts("snapchat") == []


def test_unencrypted_bytes_are_refused_by_the_sandbox(sandbox: Sandbox,
                                                      profile: AccountCredentials) -> None:
    auth = {"Authorization": f"Bearer {profile.access_token}"}
    plain = original(sandbox, VIDEO)
    with httpx.Client(transport=sandbox.transport(), base_url=BASE, headers=auth) as http:
        media_id = http.post(f"/v1/public_profiles/{profile.external_account_id}/media", json={
            "type": "VIDEO", "name": "raw", "key": base64.b64encode(bytes(32)).decode(),
            "iv": base64.b64encode(bytes(16)).decode()}).json()["media_id"]
        padded = plain + bytes(16 - len(plain) % 16)  # the right length, but not ciphertext
        init = http.post(f"/v1/media/{media_id}/multipart-upload-v2?action=INIT", data={
            "file_name": "raw.mp4", "file_size": str(len(padded)), "number_of_parts": "1"}).json()
        http.post(init["add_path"].removeprefix("/snapchat"), data={
            "upload_id": init["upload_id"], "part_number": "1"}, files={"file": ("p1", padded)})
        final = http.post(init["finalize_path"].removeprefix("/snapchat"),
                          data={"upload_id": init["upload_id"]})

    assert final.status_code == 400
    assert final.json()["request_status"] == "ERROR"
    assert final.json()["error_code"] == "E2004"


def test_large_media_goes_up_in_several_parts(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)
    connector = snapchat(connect, transport=recorder)
    connector.part_bytes = 64 * 1024

    connector.publish(post("reel", VIDEO), profile)  # 300,000 bytes -> 300,016 encrypted

    init = parse_qs(recorder.to("action=INIT")[0].content.decode())
    assert (init["file_size"], init["number_of_parts"]) == (["300016"], ["5"])
    assert [len(p) for p in file_parts(recorder.to("action=ADD"))] == [65536] * 4 + [37872]
    assert stored_media(sandbox)[0]["digest"] == hashlib.sha256(original(sandbox, VIDEO)).hexdigest()


# --- post types and their limits -------------------------------------------------------------


def test_a_story_with_a_title_is_a_saved_story_of_at_most_45_characters(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials
) -> None:
    connector = snapchat(connect)

    saved = connector.publish(post(title="s" * 45), profile)

    record = sandbox.posts("snapchat")[0]
    assert (record.post_type, record.text, record.id) == ("saved_story", "s" * 45, saved.external_id)
    assert saved.url == "https://www.snapchat.com/add/acme"
    with pytest.raises(PermanentPlatformError) as caught:
        connector.publish(post(title="s" * 46), profile)
    assert "title" in caught.value.network_message and caught.value.status == 400
    assert "too_long" in {p.code for p in connector.validate(post(title="s" * 46))}


def test_a_spotlight_description_is_at_most_160_characters_with_hashtags(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials
) -> None:
    connector = snapchat(connect)
    text = "a" * 150 + " #herald1"  # 159 characters

    spotlight = connector.publish(post("reel", VIDEO, text=text + "x"), profile)

    assert spotlight.url == f"https://www.snapchat.com/spotlight/{spotlight.external_id}"
    content = sandbox.networks["snapchat"].content[spotlight.external_id]  # type: ignore[attr-defined]
    assert (content["text"], content["locale"]) == (text + "x", "en_US")
    with pytest.raises(PermanentPlatformError) as caught:
        connector.publish(post("reel", VIDEO, text=text + "xy"), profile)
    assert "at most 160 characters" in caught.value.network_message
    assert len(sandbox.posts("snapchat")) == 1


def test_spotlight_takes_the_locale_option(connect: ConnectorFactory, sandbox: Sandbox,
                                           profile: AccountCredentials) -> None:
    result = snapchat(connect).publish(post("video", VIDEO, options={"locale": "fr_FR"}), profile)

    assert sandbox.networks["snapchat"].content[result.external_id]["locale"] == "fr_FR"  # type: ignore[attr-defined]


def test_spotlight_is_video_only_before_any_call(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials
) -> None:
    with pytest.raises(MediaFetchError, match="is not video"):
        snapchat(connect).publish(post("reel", IMAGE), profile)

    assert stored_media(sandbox) == []


def test_the_sandbox_refuses_a_spotlight_made_of_an_image(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials
) -> None:
    def spotlight_instead(request: httpx.Request) -> httpx.Request:
        if request.url.path.endswith("/stories"):
            body = json.loads(request.content)
            body.update(description="An image", locale="en_US")
            return httpx.Request("POST", str(request.url).replace("/stories", "/spotlights"),
                                 json=body, headers={"Authorization": request.headers["authorization"]})
        return request

    with pytest.raises(PermanentPlatformError) as caught:
        snapchat(connect, transport=Recorder(sandbox, spotlight_instead)).publish(post(), profile)

    assert caught.value.network_message == "Spotlight only accepts VIDEO media"


def test_one_media_item_per_post(connect: ConnectorFactory, profile: AccountCredentials) -> None:
    request = PublishRequest("p", "snapchat", "story", "x", media_urls=(IMAGE, VIDEO))

    with pytest.raises(PermanentPlatformError, match="one media item"):
        snapchat(connect).publish(request, profile)


def test_a_saved_story_whose_answer_was_lost_is_found_by_its_media_name(
    connect: ConnectorFactory, sandbox: Sandbox, profile: AccountCredentials, clock: FixedClock
) -> None:
    connector = snapchat(connect)
    connector.publish(post(title="Earlier", media=VIDEO), profile)  # same media, other post
    sandbox.inject("snapchat", "lost_response")
    request = PublishRequest("p-8", "snapchat", "story", "x", title="Launch",
                             media_urls=(VIDEO,), idempotency_key="k-8")

    with pytest.raises(UnknownOutcome):
        connector.publish(request, profile)
    clock.advance(timedelta(minutes=2))

    found = connector.find_existing(request, profile)
    assert found is not None and found.external_id == sandbox.posts("snapchat")[-1].id
    assert stored_media(sandbox)[-1]["name"] == "herald-k-8"


# --- metrics, limits, errors -----------------------------------------------------------------


def test_a_story_stops_gathering_views_when_it_expires_a_spotlight_does_not(
    connect: ConnectorFactory, profile: AccountCredentials, clock: FixedClock
) -> None:
    connector = snapchat(connect)
    story = connector.publish(post(), profile).external_id
    spotlight = connector.publish(post("reel", VIDEO), profile).external_id
    clock.advance(timedelta(hours=30))
    first = connector.fetch_metrics([story, spotlight], profile)
    clock.advance(timedelta(days=3))

    later = connector.fetch_metrics([story, spotlight], profile)

    assert later[story] == first[story] and later[story].views > 0
    assert later[spotlight].views > first[spotlight].views
    assert (later[story].likes, later[story].comments) == (0, 0)  # Snapchat has neither
    assert later[story].reach is not None and later[story].reach <= later[story].views


def test_an_app_that_is_not_allowlisted_is_refused(connect: ConnectorFactory,
                                                  clock: FixedClock) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"snapchat": {"allowlisted": 0}}))
    account = SNAP.register(sandbox)

    with pytest.raises(PermanentPlatformError) as caught:
        snapchat(connect, sandbox=sandbox).publish(post(), account)

    assert caught.value.status == 403
    assert "not allowlisted" in caught.value.network_message


def test_throttling_uses_retry_after_or_a_short_default() -> None:
    request = httpx.Request("POST", f"{BASE}/v1/public_profiles/x/media")
    with_header = httpx.Response(429, headers={"Retry-After": "30"}, request=request,
                                 json={"request_status": "ERROR", "debug_message": "slow down"})
    without = httpx.Response(429, request=request, json={"request_status": "ERROR"})

    assert snapchat_error("snapchat", with_header, NOW).retry_after == NOW + timedelta(seconds=30)
    assert snapchat_error("snapchat", without, NOW).retry_after == NOW + timedelta(seconds=60)
    assert isinstance(snapchat_error("snapchat", without, NOW), RetryablePlatformError)


def test_the_per_profile_request_window_answers_429(connect: ConnectorFactory,
                                                   clock: FixedClock) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(
        limits={"snapchat": {"requests_per_minute": 3}}))
    account = SNAP.register(sandbox)

    with pytest.raises(RetryablePlatformError) as caught:
        snapchat(connect, sandbox=sandbox).publish(post(), account)  # 5 calls are needed

    assert caught.value.status == 429
    assert caught.value.retry_after == NOW + timedelta(seconds=60)


# --- OAuth -----------------------------------------------------------------------------------


def test_oauth_finds_the_public_profiles_and_refresh_keeps_the_refresh_token(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    connector = snapchat(connect)
    url = connector.authorize_url("st", "https://herald.test/cb")
    assert url.startswith(f"{BASE}/login/oauth2/authorize?")
    assert parse_qs(urlsplit(url).query)["scope"] == ["snapchat-marketing-api"]
    with httpx.Client(transport=sandbox.transport()) as browser:
        code = parse_qs(urlsplit(browser.get(url).headers["location"]).query)["code"][0]

    tokens = connector.exchange_code(code, "https://herald.test/cb")

    assert tokens.expires_at == NOW + timedelta(minutes=30)
    assert tokens.account["extra"]["profile_id"] == tokens.account["external_account_id"]
    assert [c["username"] for c in tokens.account["choices"]] == ["heraldsandbox"]
    account = AccountCredentials("snapchat", tokens.account["external_account_id"],
                                 tokens.account["username"], tokens.access_token,
                                 tokens.refresh_token, extra=tokens.account["extra"])
    renewed = connector.refresh_token(account)
    assert renewed.access_token != account.access_token
    assert renewed.refresh_token == account.refresh_token

    connector.revoke(account)
    with pytest.raises(AuthPlatformError) as caught:
        connector.refresh_token(account)
    assert caught.value.network_code == "invalid_grant"
