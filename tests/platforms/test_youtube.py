"""YouTube specifics: the resumable upload (308 + Range, resuming after an interruption, lost
sessions), staging the upload session ahead, quota until Pacific midnight, the daily upload
cap, Shorts URLs, metadata checks, processing, Google OAuth and Analytics shares."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.clock import FixedClock
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    RetryablePlatformError,
    StagedMediaGone,
    UnknownOutcome,
)
from core.platforms import AccountCredentials, PublishRequest
from core.platforms.sandbox import Sandbox, SandboxConfig
from core.platforms.youtube import ANALYTICS_SCOPE, YouTubeConnector
from tests.platforms.conftest import NOW, ConnectorFactory, FakeSleep
from tests.platforms.contract import CASES, MEDIA, VIDEO

YT = next(case for case in CASES if case.platform == "youtube")
KIB_256 = 256 * 1024
SIZE = 700_000  # three chunks of 256 KiB: 262144 + 262144 + 175712
CLIP = f"{MEDIA}/launch.mp4?bytes={SIZE}"
# NOW is 01:00 in Los Angeles (PST, UTC-8): the quota resets at 08:00 UTC the next day.
PACIFIC_MIDNIGHT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Recorder(httpx.BaseTransport):
    """Sends to the sandbox and notes each YouTube call as ``"METHOD path [Content-Range]"``."""

    def __init__(self, sandbox: Sandbox,
                 edit: Callable[[httpx.Request, httpx.Response], httpx.Response] | None = None) -> None:
        self.sandbox = sandbox
        self.edit = edit
        self.calls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/youtube/"):
            what = f"{request.method} {request.url.path.removeprefix('/youtube')}"
            self.calls.append(" ".join([what, request.headers.get("content-range", "")]).strip())
        response = self.sandbox.handle(request)
        return self.edit(request, response) if self.edit else response

    def uploads(self) -> list[str]:
        return [c.removeprefix("PUT /upload/youtube/v3/videos ") for c in self.calls
                if c.startswith(("PUT", "POST /upload"))]


def youtube(connect: ConnectorFactory, *, chunk: int = KIB_256, **kwargs: Any) -> YouTubeConnector:
    connector = connect("youtube", **kwargs)
    assert isinstance(connector, YouTubeConnector)
    connector.chunk_bytes = chunk
    return connector


@pytest.fixture
def channel(sandbox: Sandbox) -> AccountCredentials:
    return YT.register(sandbox)


def video(text: str = "Launch day recap", media: str = CLIP, post_type: str = "video",
          **kwargs: Any) -> PublishRequest:
    return PublishRequest("p-1", "youtube", post_type, text, media_urls=(media,), **kwargs)


# --- the resumable upload --------------------------------------------------------------------


def test_the_bytes_go_up_in_256_kib_chunks_each_answered_308_with_range(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)

    result = youtube(connect, transport=recorder).publish(video(), channel)

    assert recorder.uploads() == ["POST /upload/youtube/v3/videos", "bytes 0-262143/700000",
                                  "bytes 262144-524287/700000", "bytes 524288-699999/700000"]
    assert sandbox.posts("youtube")[0].id == result.external_id
    assert result.url == f"https://www.youtube.com/watch?v={result.external_id}"


def test_an_interrupted_chunk_is_resumed_from_what_the_session_holds(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials, sleep: FakeSleep
) -> None:
    recorder = Recorder(sandbox)
    sandbox.inject("youtube", "timeout", on="upload", skip=1)  # the second chunk never lands

    result = youtube(connect, transport=recorder).publish(video(), channel)

    assert recorder.uploads() == [
        "POST /upload/youtube/v3/videos", "bytes 0-262143/700000",
        "bytes 262144-524287/700000",  # no answer
        "bytes */700000",  # the probe: 308 Range: bytes=0-262143
        "bytes 262144-524287/700000", "bytes 524288-699999/700000"]
    assert sleep.calls[0] == 2.0  # backed off before asking
    assert [p.id for p in sandbox.posts("youtube")] == [result.external_id]


def test_a_chunk_whose_answer_was_lost_is_not_sent_again(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)
    sandbox.inject("youtube", "lost_response", on="upload", skip=1)  # kept, answer lost

    youtube(connect, transport=recorder).publish(video(), channel)

    assert recorder.uploads()[2:] == ["bytes 262144-524287/700000", "bytes */700000",
                                      "bytes 524288-699999/700000"]


def test_a_server_error_on_a_chunk_resumes_after_a_probe(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)
    sandbox.inject("youtube", "server_error", on="upload", status=503)

    youtube(connect, transport=recorder).publish(video(), channel)

    assert recorder.uploads()[1:3] == ["bytes 0-262143/700000", "bytes */700000"]
    assert len(sandbox.posts("youtube")) == 1


def test_the_range_the_server_kept_wins_over_what_was_sent(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)

    # 300,000 is not a multiple of 256 KiB: the upload service keeps whole blocks only.
    youtube(connect, chunk=300_000, transport=recorder).publish(video(), channel)

    assert recorder.uploads()[1:] == ["bytes 0-299999/700000", "bytes 262144-562143/700000",
                                      "bytes 524288-699999/700000"]
    assert len(sandbox.posts("youtube")) == 1


def test_a_chunk_below_256_kib_is_refused_with_googles_message(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    with pytest.raises(PermanentPlatformError) as caught:
        youtube(connect, chunk=100_000).publish(video(), channel)

    assert caught.value.status == 400
    assert "equal or greater than 262144" in caught.value.network_message
    assert sandbox.posts("youtube") == []


def test_a_session_that_expired_during_an_interruption_is_opened_again(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(
        limits={"youtube": {"upload_session_seconds": 1}}))
    account = YT.register(sandbox)
    recorder = Recorder(sandbox)
    sandbox.inject("youtube", "timeout", on="upload", skip=1)

    youtube(connect, sandbox=sandbox, transport=recorder).publish(video(), account)

    uploads = recorder.uploads()
    assert uploads[3] == "bytes */700000"  # 2 s later the session is gone: 404
    assert uploads[4:] == ["POST /upload/youtube/v3/videos", "bytes 0-262143/700000",
                           "bytes 262144-524287/700000", "bytes 524288-699999/700000"]
    assert len(sandbox.posts("youtube")) == 1


def test_only_a_lost_answer_to_the_last_chunk_is_an_unknown_outcome(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    sandbox.inject("youtube", "lost_response")  # the publishing call: the completing chunk
    connector = youtube(connect)

    with pytest.raises(UnknownOutcome):
        connector.publish(video(), channel)

    found = connector.find_existing(video(), channel)
    assert found is not None and found.external_id == sandbox.posts("youtube")[0].id


# --- staging the upload session ahead ---------------------------------------------------------


def test_staging_opens_the_session_and_the_publish_starts_with_the_bytes(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)
    connector = youtube(connect, transport=recorder)

    staged = connector.stage(video(), channel)
    assert staged is not None
    assert (staged["size"], staged["content_type"]) == (SIZE, "video/mp4")
    assert "upload_id=" in staged["session"]
    assert recorder.uploads() == ["POST /upload/youtube/v3/videos"]
    assert sandbox.posts("youtube") == []  # an open session is no video
    recorder.calls.clear()

    result = connector.publish(video(staged=staged), channel)

    assert recorder.uploads() == ["bytes 0-262143/700000", "bytes 262144-524287/700000",
                                  "bytes 524288-699999/700000"]  # no POST at due time
    assert [p.id for p in sandbox.posts("youtube")] == [result.external_id]


def test_a_file_that_changed_size_since_staging_is_staged_media_gone(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    replacement: list[str] = []

    def replaced_file(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if replacement and request.url.path.startswith("/media/"):
            return sandbox.handle(httpx.Request("GET", replacement[0]))
        return response

    recorder = Recorder(sandbox, replaced_file)
    connector = youtube(connect, transport=recorder)
    staged = connector.stage(video(), channel)
    replacement.append(f"{MEDIA}/launch.mp4?bytes={SIZE + 1000}")  # re-exported at the same URL
    recorder.calls.clear()

    with pytest.raises(StagedMediaGone, match="opened for 700000 bytes"):
        connector.publish(video(staged=staged), channel)

    assert recorder.uploads() == []  # nothing went to the session
    assert sandbox.posts("youtube") == []


def test_a_staged_session_that_expired_is_staged_media_gone_with_nothing_uploaded(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials, clock: FixedClock
) -> None:
    recorder = Recorder(sandbox)
    connector = youtube(connect, transport=recorder)
    staged = connector.stage(video(), channel)
    recorder.calls.clear()
    clock.advance(timedelta(days=7))  # Google keeps a session for a week

    with pytest.raises(StagedMediaGone) as caught:
        connector.publish(video(staged=staged), channel)

    assert caught.value.status == 404
    assert recorder.uploads() == ["bytes 0-262143/700000"]  # answered 404, not re-opened
    assert sandbox.posts("youtube") == []
    assert connector.staging_ttl is not None and connector.staging_ttl < timedelta(days=7)


def test_a_staged_session_gone_after_an_interruption_before_any_answer_is_staged_media_gone(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials, clock: FixedClock
) -> None:
    recorder = Recorder(sandbox)
    connector = youtube(connect, transport=recorder)
    staged = connector.stage(video(), channel)
    recorder.calls.clear()
    clock.advance(timedelta(days=7))
    sandbox.inject("youtube", "timeout", on="upload")  # the first chunk gets no answer

    with pytest.raises(StagedMediaGone):
        connector.publish(video(staged=staged), channel)

    assert recorder.uploads() == ["bytes 0-262143/700000", "bytes */700000"]  # probe: 404
    assert sandbox.posts("youtube") == []


def test_a_staged_upload_interrupted_midway_resumes_within_its_session(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    recorder = Recorder(sandbox)
    connector = youtube(connect, transport=recorder)
    staged = connector.stage(video(), channel)
    recorder.calls.clear()
    sandbox.inject("youtube", "timeout", on="upload", skip=1)  # the second chunk never lands

    result = connector.publish(video(staged=staged), channel)

    assert recorder.uploads() == [
        "bytes 0-262143/700000", "bytes 262144-524287/700000",  # no answer
        "bytes */700000",  # the staged session holds bytes 0-262143
        "bytes 262144-524287/700000", "bytes 524288-699999/700000"]
    assert [p.id for p in sandbox.posts("youtube")] == [result.external_id]


def test_a_staged_session_that_expires_after_answering_is_opened_again_like_any_other(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(
        limits={"youtube": {"upload_session_seconds": 1}}))
    account = YT.register(sandbox)
    recorder = Recorder(sandbox)
    connector = youtube(connect, sandbox=sandbox, transport=recorder)
    staged = connector.stage(video(), account)
    recorder.calls.clear()
    sandbox.inject("youtube", "timeout", on="upload", skip=1)

    connector.publish(video(staged=staged), account)  # the first chunk lands at once

    uploads = recorder.uploads()
    assert uploads[:3] == ["bytes 0-262143/700000", "bytes 262144-524287/700000", "bytes */700000"]
    assert uploads[3:] == ["POST /upload/youtube/v3/videos", "bytes 0-262143/700000",
                           "bytes 262144-524287/700000", "bytes 524288-699999/700000"]
    assert len(sandbox.posts("youtube")) == 1


# --- processing, metadata, Shorts ------------------------------------------------------------


def test_publishing_waits_for_processing_on_the_sandbox_clock(
    connect: ConnectorFactory, channel: AccountCredentials, sleep: FakeSleep
) -> None:
    result = youtube(connect).publish(video(), channel)

    assert sleep.total >= 4.0  # the sandbox processes video for 4 s of its clock
    processing = result.raw["processing"]
    assert processing["status"]["uploadStatus"] == "processed"
    assert processing["processingDetails"]["processingStatus"] == "succeeded"


def test_the_snippet_and_status_youtube_receives(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    request = video("\n First line is the title \nAnd the rest describes it.",
                    options={"tags": ["launch", "new product"], "privacy_status": "unlisted"})

    result = youtube(connect).publish(request, channel)

    stored = sandbox.networks["youtube"].videos[result.external_id]  # type: ignore[attr-defined]
    assert stored["snippet"] == {"title": "First line is the title",
                                 "description": request.text, "categoryId": "22",
                                 "tags": ["launch", "new product"]}
    assert stored["status"] == {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False}


def test_a_title_with_angle_brackets_is_youtubes_invalid_title(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    request = video(title="Launch <live>")

    with pytest.raises(PermanentPlatformError) as caught:
        youtube(connect).publish(request, channel)

    assert (caught.value.status, caught.value.network_code) == (400, "invalidTitle")
    assert "invalid or empty video title" in caught.value.network_message
    assert "invalid_character" in {p.code for p in youtube(connect).validate(request)}
    assert sandbox.posts("youtube") == []


def test_a_description_over_5000_bytes_is_invalid_description(
    connect: ConnectorFactory, channel: AccountCredentials
) -> None:
    with pytest.raises(PermanentPlatformError) as caught:
        youtube(connect).publish(video("Title\n" + "é" * 2500), channel)

    assert caught.value.network_code == "invalidDescription"


def test_a_reel_is_a_short_and_so_is_a_short_vertical_video(
    connect: ConnectorFactory, channel: AccountCredentials
) -> None:
    connector = youtube(connect)

    reel = connector.publish(video(post_type="reel"), channel)
    vertical = connector.publish(video(options={"vertical": True, "duration_seconds": 42}), channel)
    landscape = connector.publish(video(), channel)
    too_long = connector.publish(video(options={"vertical": True, "duration_seconds": 600}), channel)

    assert reel.url == f"https://www.youtube.com/shorts/{reel.external_id}"
    assert vertical.url == f"https://www.youtube.com/shorts/{vertical.external_id}"
    assert landscape.url == f"https://www.youtube.com/watch?v={landscape.external_id}"
    assert too_long.url.startswith("https://www.youtube.com/watch?v=")


def test_file_details_decide_whether_a_reel_became_a_short(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    def landscape_file(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "fileDetails" not in request.url.params.get("part", ""):
            return response
        body = json.loads(response.read())
        for item in body["items"]:
            item["fileDetails"].update(durationMs="42000", videoStreams=[
                {"widthPixels": 1920, "heightPixels": 1080}])
        return httpx.Response(200, json=body)

    result = youtube(connect, transport=Recorder(sandbox, landscape_file)).publish(
        video(post_type="reel"), channel)

    assert result.url == f"https://www.youtube.com/watch?v={result.external_id}"


def test_failed_processing_keeps_youtubes_failure_reason(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    sandbox.inject("youtube", "processing_failed", error_code="codec")

    with pytest.raises(PermanentPlatformError) as caught:
        youtube(connect).publish(video(), channel)

    assert caught.value.network_code == "codec"
    assert [p.status for p in sandbox.posts("youtube")] == ["failed"]


def test_the_duplicate_fault_is_youtubes_duplicate_rejection(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    sandbox.inject("youtube", "duplicate")

    with pytest.raises(PermanentPlatformError) as caught:
        youtube(connect).publish(video(), channel)

    assert caught.value.network_code == "duplicate"
    assert "rejected" in caught.value.network_message


# --- limits ----------------------------------------------------------------------------------


def test_quota_exceeded_waits_until_midnight_pacific_then_works_again(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(
        limits={"youtube": {"insert_calls_per_day": 1}}))
    account = YT.register(sandbox)
    connector = youtube(connect, sandbox=sandbox)
    connector.publish(video(), account)

    with pytest.raises(RetryablePlatformError) as caught:
        connector.publish(video("Second"), account)

    assert (caught.value.status, caught.value.network_code) == (403, "quotaExceeded")
    assert caught.value.retry_after == PACIFIC_MIDNIGHT
    clock.set(PACIFIC_MIDNIGHT)
    assert connector.publish(video("Second"), account).external_id


def test_an_injected_quota_fault_says_the_same(
    connect: ConnectorFactory, sandbox: Sandbox, channel: AccountCredentials
) -> None:
    sandbox.inject("youtube", "rate_limit", reason="quotaExceeded")

    with pytest.raises(RetryablePlatformError) as caught:
        youtube(connect).publish(video(), channel)

    assert caught.value.retry_after == PACIFIC_MIDNIGHT
    body = json.loads(caught.value.response_body or "{}")
    assert body["error"]["errors"][0] == {
        "message": body["error"]["message"], "domain": "youtube.quota", "reason": "quotaExceeded"}


def test_the_daily_upload_cap_is_retryable_after_24_hours(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"youtube": {"uploads_per_day": 1}}))
    account = YT.register(sandbox)
    connector = youtube(connect, sandbox=sandbox)
    connector.publish(video(), account)

    with pytest.raises(RetryablePlatformError) as caught:
        connector.publish(video("Second"), account)

    assert (caught.value.status, caught.value.network_code) == (400, "uploadLimitExceeded")
    assert caught.value.retry_after == clock.now() + timedelta(hours=24)


# --- metrics ---------------------------------------------------------------------------------


def test_statistics_arrive_as_strings_and_shares_come_from_analytics(
    connect: ConnectorFactory, sandbox: Sandbox, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))  # Saturday afternoon: a good slot
    account = YT.register(sandbox)
    granted = AccountCredentials("youtube", account.external_account_id, account.username,
                                 account.access_token, scopes=(ANALYTICS_SCOPE,))
    recorder = Recorder(sandbox)
    connector = youtube(connect, transport=recorder)
    video_id = connector.publish(video(), account).external_id
    clock.advance(timedelta(days=30))

    plain = connector.fetch_metrics([video_id], account)[video_id]
    with_shares = connector.fetch_metrics([video_id], granted)[video_id]

    counts = sandbox.engagement(sandbox.posts("youtube")[0])
    assert (plain.views, plain.likes, plain.comments, plain.shares) == (
        counts.views, counts.likes, counts.comments, 0)
    assert with_shares.shares == counts.shares > 0
    assert sum(c.startswith("GET /v2/reports") for c in recorder.calls) == 1


# --- OAuth -----------------------------------------------------------------------------------


def consent(connector: YouTubeConnector, sandbox: Sandbox) -> tuple[str, dict[str, list[str]]]:
    url = connector.authorize_url("st", "https://herald.test/cb")
    with httpx.Client(transport=sandbox.transport()) as browser:
        location = browser.get(url).headers["location"]
    return url, parse_qs(urlsplit(location).query)


def test_google_oauth_is_offline_and_refresh_tokens_do_not_rotate(
    connect: ConnectorFactory, sandbox: Sandbox, clock: FixedClock
) -> None:
    connector = youtube(connect)
    url, query = consent(connector, sandbox)
    params = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/youtube/o/oauth2/v2/auth"
    assert (params["access_type"], params["prompt"]) == (["offline"], ["consent"])

    tokens = connector.exchange_code(query["code"][0], "https://herald.test/cb")
    assert tokens.account["external_account_id"] == "UCHeraldSandboxChannel01"
    assert tokens.account["username"] == "@heraldsandbox"
    assert tokens.expires_at == NOW + timedelta(seconds=3599)
    account = AccountCredentials("youtube", tokens.account["external_account_id"],
                                 tokens.account["username"], tokens.access_token,
                                 tokens.refresh_token, extra=tokens.account["extra"])

    clock.advance(timedelta(hours=2))
    with pytest.raises(AuthPlatformError):  # the access token lived an hour
        connector.publish(video(), account)
    renewed = connector.refresh_token(account)

    assert renewed.refresh_token == account.refresh_token
    assert renewed.access_token != account.access_token
    fresh = AccountCredentials("youtube", account.external_account_id, account.username,
                               renewed.access_token, renewed.refresh_token, extra=account.extra)
    assert connector.publish(video(), fresh).external_id


def test_a_revoked_grant_refreshes_with_invalid_grant(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    connector = youtube(connect)
    _, query = consent(connector, sandbox)
    tokens = connector.exchange_code(query["code"][0], "https://herald.test/cb")
    account = AccountCredentials("youtube", tokens.account["external_account_id"], "@h",
                                 tokens.access_token, tokens.refresh_token)

    connector.revoke(account)

    with pytest.raises(AuthPlatformError) as caught:
        connector.refresh_token(account)
    assert caught.value.network_code == "invalid_grant"
    assert caught.value.network_message == "Token has been expired or revoked."
    with pytest.raises(AuthPlatformError):
        connector.publish(video(), account)


def test_a_video_is_required(connect: ConnectorFactory, channel: AccountCredentials) -> None:
    with pytest.raises(PermanentPlatformError, match="not supported"):
        youtube(connect).publish(PublishRequest("p", "youtube", "image", "x",
                                                media_urls=(VIDEO.replace("mp4", "jpg"),)), channel)
