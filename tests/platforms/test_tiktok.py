"""TikTok specifics: creator_info privacy options, chunk math and Content-Range, status polling
to PUBLISH_COMPLETE / FAILED, pull uploads, photo posts, the envelope's error codes, per-token
limits, PKCE and rotating refresh tokens."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
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
from core.platforms import AccountCredentials, PollPolicy, PublishRequest
from core.platforms.sandbox import Sandbox, SandboxConfig
from core.platforms.tiktok import UPLOAD_STAGE_AHEAD, ChunkPolicy, TikTokConnector, choose_privacy
from tests.platforms.conftest import NOW, ConnectorFactory, FakeSleep, record_calls
from tests.platforms.contract import CASES, IMAGE, MEDIA, VIDEO
from tests.platforms.recording import Recorder

TT = next(case for case in CASES if case.platform == "tiktok")
BASE = "http://sandbox.herald.local/tiktok"
MiB = 1024**2
SMALL = ChunkPolicy(chunk_bytes=1000, min_bytes=500, max_bytes=4000)
SMALL_LIMITS = {"min_chunk_bytes": 500, "max_chunk_bytes": 4000}


def small_sandbox(clock: FixedClock, **limits: float) -> Sandbox:
    return Sandbox(clock=clock, config=SandboxConfig(limits={"tiktok": {**SMALL_LIMITS, **limits}}))


def connector(connect: ConnectorFactory, sandbox: Sandbox, recorder: Recorder | None = None,
              **kwargs: object) -> TikTokConnector:
    made = connect("tiktok", sandbox=sandbox, transport=httpx.MockTransport(recorder or sandbox.handle),
                   **kwargs)
    assert isinstance(made, TikTokConnector)
    made.chunks = SMALL
    return made


def creator(sandbox: Sandbox, token: str = "tt-token", **extra: object) -> AccountCredentials:
    sandbox.register_account("tiktok", TT.external_account_id, TT.username, token,
                             f"{token}-refresh", extra=extra)
    return AccountCredentials("tiktok", TT.external_account_id, TT.username, token, f"{token}-refresh")


def video(size: int = 3500, text: str = "Behind the scenes #herald", **options: object) -> PublishRequest:
    return PublishRequest("p", "tiktok", "video", text, options=options,
                          media_urls=(f"{MEDIA}/clip.mp4?bytes={size}",))


def photos(*urls: str, text: str = "Our new office", **kwargs: object) -> PublishRequest:
    return PublishRequest("p", "tiktok", "carousel", text, media_urls=urls or (IMAGE,), **kwargs)  # type: ignore[arg-type]


def job_of(sandbox: Sandbox, publish_id: str) -> dict[str, object]:
    return sandbox.networks["tiktok"].jobs[publish_id]  # type: ignore[attr-defined, no-any-return]


def status_polls(calls: list[tuple[str, str, bool]]) -> bool:
    return bool(calls) and all(path.endswith("/status/fetch/") and not critical
                               for _, path, critical in calls)


# --- privacy ---------------------------------------------------------------------------------


def test_privacy_comes_from_the_creators_options() -> None:
    offered = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]

    assert choose_privacy(None, offered) == "PUBLIC_TO_EVERYONE"
    assert choose_privacy("SELF_ONLY", offered) == "SELF_ONLY"
    assert choose_privacy(None, ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]) == "FOLLOWER_OF_CREATOR"
    with pytest.raises(PermanentPlatformError, match="PUBLIC_TO_EVERYONE is not offered .* "
                       "FOLLOWER_OF_CREATOR, SELF_ONLY"):
        choose_privacy("PUBLIC_TO_EVERYONE", ["FOLLOWER_OF_CREATOR", "SELF_ONLY"])


def test_a_private_account_posts_with_its_first_option(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    tt = connector(connect, sandbox)
    account = creator(sandbox, privacy_level_options=["FOLLOWER_OF_CREATOR", "SELF_ONLY"])

    result = tt.publish(photos(), account)

    assert result.raw["privacy_level"] == "FOLLOWER_OF_CREATOR"
    assert job_of(sandbox, result.raw["publish_id"])["info"]["privacy_level"] == "FOLLOWER_OF_CREATOR"  # type: ignore[index]


def test_a_requested_level_the_creator_does_not_offer_is_refused_before_init(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    tt = connector(connect, sandbox)
    account = creator(sandbox, privacy_level_options=["MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])

    with pytest.raises(PermanentPlatformError) as caught:
        tt.publish(photos(options={"privacy_level": "PUBLIC_TO_EVERYONE"}), account)

    assert caught.value.network_code == "privacy_level_option_mismatch"
    assert "MUTUAL_FOLLOW_FRIENDS, SELF_ONLY" in caught.value.network_message
    assert sandbox.networks["tiktok"].jobs == {}  # type: ignore[attr-defined]


def test_the_sandbox_itself_refuses_a_level_not_offered(sandbox: Sandbox) -> None:
    creator(sandbox, privacy_level_options=["SELF_ONLY"])
    with httpx.Client(transport=sandbox.transport()) as http:
        response = http.post(f"{BASE}/v2/post/publish/content/init/", headers={
            "Authorization": "Bearer tt-token"}, json={
            "media_type": "PHOTO", "post_mode": "DIRECT_POST",
            "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "description": "x"},
            "source_info": {"source": "PULL_FROM_URL", "photo_images": [IMAGE]}})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "privacy_level_option_mismatch"
    assert response.json()["error"]["log_id"]


def test_a_self_only_post_has_no_public_id_and_links_to_the_profile(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    tt = connector(connect, sandbox)
    account = creator(sandbox)

    result = tt.publish(photos(options={"privacy_level": "SELF_ONLY"}), account)

    assert result.external_id == result.raw["publish_id"]
    assert result.raw["status"]["publicaly_available_post_id"] == []
    assert result.url == "https://www.tiktok.com/@acme.video"


def test_interaction_switches_the_creator_turned_off_stay_off(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    recorder = Recorder(sandbox)
    tt = connector(connect, sandbox, recorder)
    account = creator(sandbox, comment_disabled=True)

    tt.publish(video(), account)

    [(init, _)] = recorder.to("POST", "/video/init/")
    info = json.loads(init.content)["post_info"]
    assert info["disable_comment"] is True
    assert info["disable_duet"] is False and info["disable_stitch"] is False
    assert info["title"] == "Behind the scenes #herald"


# --- chunks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "plan"), [
    (3 * MiB, (3 * MiB, 1)),  # under 5 MB: whole
    (8 * MiB, (8 * MiB, 1)),  # no larger than one chunk: whole
    (30 * MiB, (10 * MiB, 3)),
    (69 * MiB, (10 * MiB, 6)),  # floor: the last chunk takes 19 MiB
    (4 * 1024 * MiB, (10 * MiB, 409)),
])
def test_chunk_math_follows_the_media_transfer_guide(size: int, plan: tuple[int, int]) -> None:
    assert ChunkPolicy().plan(size) == plan
    chunk, count = plan
    spans = ChunkPolicy.ranges(size, chunk, count)
    assert spans[0][0] == 0 and spans[-1][1] == size - 1
    assert all(b[0] == a[1] + 1 for a, b in zip(spans, spans[1:], strict=False))
    assert spans[-1][1] - spans[-1][0] + 1 < 2 * 64 * MiB


def test_chunks_stay_within_bounds_and_under_a_thousand() -> None:
    assert ChunkPolicy(chunk_bytes=100 * MiB).plan(200 * MiB) == (64 * MiB, 3)
    assert ChunkPolicy(chunk_bytes=1 * MiB).plan(20 * MiB) == (5 * MiB, 4)
    chunk, count = ChunkPolicy(chunk_bytes=5 * MiB, max_bytes=10 * MiB).plan(6000 * MiB)
    assert count <= 1000 and chunk * count <= 6000 * MiB


@pytest.mark.parametrize(("size", "chunk", "count", "ok"), [
    (3500, 1000, 3, True), (3500, 1000, 4, False),  # ceil is wrong: floor(size / chunk)
    (400, 400, 1, True), (400, 200, 2, False),  # under the minimum: whole
    (5000, 5000, 1, False),  # one chunk above the maximum
    (4000, 300, 13, False),  # chunk below the minimum
])
def test_the_sandbox_checks_the_declared_chunk_plan(
    clock: FixedClock, size: int, chunk: int, count: int, ok: bool
) -> None:
    sandbox = small_sandbox(clock)
    creator(sandbox)
    with httpx.Client(transport=sandbox.transport()) as http:
        response = http.post(f"{BASE}/v2/post/publish/video/init/", headers={
            "Authorization": "Bearer tt-token"}, json={
            "post_info": {"title": "t", "privacy_level": "SELF_ONLY"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                            "total_chunk_count": count}})

    assert (response.status_code == 200) is ok
    assert response.json()["error"]["code"] == ("ok" if ok else "invalid_params")


def test_a_video_is_put_in_order_with_content_range_206_then_201(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    recorder = Recorder(sandbox)
    tt = connector(connect, sandbox, recorder)

    result = tt.publish(video(3500), creator(sandbox))

    [(init, _)] = recorder.to("POST", "/video/init/")
    assert json.loads(init.content)["source_info"] == {
        "source": "FILE_UPLOAD", "video_size": 3500, "chunk_size": 1000, "total_chunk_count": 3}
    puts = recorder.to("PUT", "/upload/video/")
    assert [q.headers["content-range"] for q, _ in puts] == [
        "bytes 0-999/3500", "bytes 1000-1999/3500", "bytes 2000-3499/3500"]
    assert [len(q.content) for q, _ in puts] == [1000, 1000, 1500]
    assert [r.status_code for _, r in puts] == [206, 206, 201]
    assert {q.headers["content-type"] for q, _ in puts} == {"video/mp4"}
    assert all("authorization" not in q.headers for q, _ in puts)  # the URL carries the token
    assert result.url == f"https://www.tiktok.com/@acme.video/video/{result.external_id}"


def test_a_chunk_out_of_order_is_refused_with_416(clock: FixedClock) -> None:
    sandbox = small_sandbox(clock)
    creator(sandbox)
    with httpx.Client(transport=sandbox.transport(), headers={"Authorization": "Bearer tt-token"}) as http:
        upload_url = http.post(f"{BASE}/v2/post/publish/video/init/", json={
            "post_info": {"title": "t", "privacy_level": "SELF_ONLY"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": 3500, "chunk_size": 1000,
                            "total_chunk_count": 3}}).json()["data"]["upload_url"]
        skipped = http.put(upload_url, content=b"x" * 1000, headers={
            "Content-Type": "video/mp4", "Content-Range": "bytes 1000-1999/3500"})

    assert skipped.status_code == 416
    assert "bytes 0-999/3500" in skipped.json()["error"]["message"]


# --- status polling --------------------------------------------------------------------------


def test_status_is_polled_until_publish_complete(
    connect: ConnectorFactory, clock: FixedClock, sleep: FakeSleep
) -> None:
    sandbox = small_sandbox(clock)
    recorder = Recorder(sandbox)
    tt = connector(connect, sandbox, recorder)

    result = tt.publish(video(), creator(sandbox))

    statuses = [r.json()["data"]["status"] for _, r in recorder.to("POST", "/status/fetch/")]
    assert statuses[-1] == "PUBLISH_COMPLETE"
    assert set(statuses[:-1]) == {"PROCESSING_UPLOAD"} and len(statuses) > 1
    assert sleep.total >= 4.0  # the sandbox processes video for 4 s of its clock
    assert result.raw["status"]["publicaly_available_post_id"] == [int(result.external_id)]
    assert sandbox.posts("tiktok")[0].status == "published"


def test_failed_processing_is_permanent_with_tiktoks_fail_reason(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    sandbox.inject("tiktok", "processing_failed", fail_reason="duration_check_failed")

    with pytest.raises(PermanentPlatformError) as caught:
        tt.publish(video(), creator(sandbox))

    assert caught.value.network_code == "duration_check_failed"
    assert [p.status for p in sandbox.posts("tiktok")] == ["failed"]


def test_a_png_photo_fails_the_format_check(connect: ConnectorFactory, sandbox: Sandbox) -> None:
    tt = connector(connect, sandbox)

    with pytest.raises(PermanentPlatformError) as caught:
        tt.publish(photos(f"{MEDIA}/shot.png?bytes=2000"), creator(sandbox))

    assert caught.value.network_code == "file_format_check_failed"


def test_a_status_error_while_polling_is_polled_again(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    sandbox.inject("tiktok", "server_error", on="read", skip=1, times=2, status=503)  # not creator_info

    assert tt.publish(video(), account).external_id.isdigit()


def test_running_out_of_time_after_the_last_chunk_is_an_unknown_outcome(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox, poll=PollPolicy(max_wait_seconds=2))
    account = creator(sandbox)
    request = video()

    with pytest.raises(UnknownOutcome) as caught:
        tt.publish(request, account)
    clock.advance(timedelta(minutes=1))
    found = tt.find_existing(request, account)

    assert caught.value.network_code.startswith("v_pub_file~")  # type: ignore[union-attr]
    assert found is not None and found.external_id == sandbox.posts("tiktok")[0].id


# --- pull uploads and photos -----------------------------------------------------------------


def test_a_pulled_video_is_published_by_its_init(
    connect: ConnectorFactory, sandbox: Sandbox, clock: FixedClock
) -> None:
    recorder = Recorder(sandbox)
    tt = connector(connect, sandbox, recorder)
    account = creator(sandbox)
    sandbox.inject("tiktok", "lost_response")
    request = PublishRequest("p", "tiktok", "video", "Pulled", media_urls=(VIDEO,),
                             options={"source": "PULL_FROM_URL"})

    with pytest.raises(UnknownOutcome):
        tt.publish(request, account)
    clock.advance(timedelta(minutes=1))

    assert tt.find_existing(request, account) is not None
    [(init, _)] = recorder.to("POST", "/video/init/")
    assert json.loads(init.content)["source_info"] == {"source": "PULL_FROM_URL", "video_url": VIDEO}
    assert not recorder.to("PUT", "/upload/")


def test_pulling_from_an_unverified_domain_is_refused(connect: ConnectorFactory, sandbox: Sandbox) -> None:
    tt = connector(connect, sandbox)

    with pytest.raises(PermanentPlatformError) as caught:
        tt.publish(photos("https://cdn.example.com/a.jpg"), creator(sandbox))

    assert (caught.value.status, caught.value.network_code) == (403, "url_ownership_unverified")


def test_a_photo_post_sends_title_description_and_pulled_images(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    recorder = Recorder(sandbox)
    tt = connector(connect, sandbox, recorder)
    second = f"{MEDIA}/two.webp?bytes=3000"

    result = tt.publish(photos(IMAGE, second, title="Office tour"), creator(sandbox))

    [(init, _)] = recorder.to("POST", "/content/init/")
    body = json.loads(init.content)
    assert (body["media_type"], body["post_mode"]) == ("PHOTO", "DIRECT_POST")
    assert body["post_info"]["title"] == "Office tour"
    assert body["post_info"]["description"] == "Our new office"
    assert body["source_info"] == {"source": "PULL_FROM_URL", "photo_images": [IMAGE, second],
                                   "photo_cover_index": 0}
    assert result.url == f"https://www.tiktok.com/@acme.video/photo/{result.external_id}"


# --- limits and errors -----------------------------------------------------------------------


def test_the_seventh_init_in_a_minute_is_rate_limited(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    for n in range(6):
        tt.publish(photos(text=f"photo {n}"), account)
    now = sandbox.clock.now()

    with pytest.raises(RetryablePlatformError) as caught:
        tt.publish(photos(text="one too many"), account)

    assert (caught.value.status, caught.value.network_code) == (429, "rate_limit_exceeded")
    assert caught.value.retry_after == now + timedelta(minutes=1)


def test_the_daily_post_cap_is_spam_risk_too_many_posts(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock, posts_per_day=1)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    tt.publish(photos(text="first"), account)

    with pytest.raises(PermanentPlatformError) as caught:
        tt.publish(photos(text="second"), account)

    assert caught.value.network_code == "spam_risk_too_many_posts"


def test_metrics_are_queried_twenty_ids_at_a_time(connect: ConnectorFactory, clock: FixedClock) -> None:
    sandbox = small_sandbox(clock, init=100, posts_per_day=100)
    recorder = Recorder(sandbox)
    tt = connector(connect, sandbox, recorder)
    account = creator(sandbox)
    ids = [tt.publish(photos(text=f"post {n}"), account).external_id for n in range(21)]
    clock.advance(timedelta(days=1))

    metrics = tt.fetch_metrics(ids, account)

    queries = recorder.to("POST", "/v2/video/query/")
    assert [len(json.loads(q.content)["filters"]["video_ids"]) for q, _ in queries] == [20, 1]
    assert "view_count" in parse_qs(urlsplit(str(queries[0][0].url)).query)["fields"][0]
    assert set(metrics) == set(ids)
    assert all(m.saves is None and m.reach is None for m in metrics.values())


# --- OAuth -----------------------------------------------------------------------------------


def test_authorize_url_uses_client_key_and_comma_separated_scopes(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    url = connector(connect, sandbox).authorize_url("st", "https://herald.test/cb", "abc")

    query = parse_qs(urlsplit(url).query)
    assert url.startswith("http://sandbox.herald.local/tiktok/v2/auth/authorize/?")
    assert query["client_key"] == ["herald-sandbox"]
    assert query["scope"] == ["user.info.basic,user.info.profile,video.publish,video.upload,video.list"]
    assert query["code_challenge_method"] == ["S256"]


def test_a_desktop_style_hex_challenge_is_accepted(connect: ConnectorFactory, sandbox: Sandbox) -> None:
    import hashlib

    tt = connector(connect, sandbox)
    verifier = "v" * 64
    url = tt.authorize_url("s", "https://herald.test/cb", hashlib.sha256(verifier.encode()).hexdigest())
    with httpx.Client(transport=sandbox.transport()) as browser:
        code = parse_qs(urlsplit(browser.get(url).headers["location"]).query)["code"][0]

    tokens = tt.exchange_code(code, "https://herald.test/cb", verifier)

    assert tokens.account["username"] == "herald.sandbox"
    assert tokens.expires_at == NOW + timedelta(hours=2)
    assert tokens.refresh_expires_at == NOW + timedelta(days=180)


def test_refresh_tokens_rotate_and_the_old_one_is_rejected(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    tt = connector(connect, sandbox)
    account = creator(sandbox)

    first = tt.refresh_token(account)
    with pytest.raises(AuthPlatformError) as caught:
        tt.refresh_token(account)
    renewed = AccountCredentials("tiktok", account.external_account_id, account.username,
                                 first.access_token, first.refresh_token)
    second = tt.refresh_token(renewed)

    assert caught.value.network_code == "invalid_grant"
    assert len({account.refresh_token, first.refresh_token, second.refresh_token}) == 3
    assert first.expires_at == NOW + timedelta(hours=2)


# --- staging ahead of the scheduled time -------------------------------------------------------


def test_a_staged_video_goes_out_with_its_last_chunk_and_status_polls(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    recorder = Recorder(sandbox)
    tt = connector(connect, sandbox, recorder)
    account = creator(sandbox)
    request = video(3500)

    staged = tt.stage(request, account)

    assert staged is not None and set(staged) == {"creator", "upload"}
    assert json.loads(json.dumps(staged)) == staged
    assert [q.headers["content-range"] for q, _ in recorder.to("PUT", "/upload/video/")] == [
        "bytes 0-999/3500", "bytes 1000-1999/3500"]  # every chunk but the last
    assert sandbox.posts("tiktok") == []
    ahead = len(recorder.calls)
    calls = record_calls(tt)
    clock.advance(timedelta(minutes=15))

    result = tt.publish(replace(request, staged=staged), account)

    assert calls[0] == ("PUT", "/tiktok/upload/video/", True)
    assert status_polls(calls[1:])
    [(last, answer)] = [(q, r) for q, r in recorder.calls[ahead:] if q.method == "PUT"]
    assert (last.headers["content-range"], answer.status_code) == ("bytes 2000-3499/3500", 201)
    assert result.raw["publish_id"] == staged["upload"]["publish_id"]
    assert [p.id for p in sandbox.posts("tiktok")] == [result.external_id]
    assert sandbox.posts("tiktok")[0].text == request.text


def test_a_staged_photo_post_makes_only_its_init_when_due(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    request = photos()

    staged = tt.stage(request, account)
    calls = record_calls(tt)
    result = tt.publish(replace(request, staged=staged), account)

    assert staged is not None and set(staged) == {"creator"}  # the init would post the photos
    assert staged["creator"]["privacy_level_options"]
    assert calls[0] == ("POST", "/tiktok/v2/post/publish/content/init/", True)
    assert status_polls(calls[1:])
    assert [p.id for p in sandbox.posts("tiktok")] == [result.external_id]


def test_a_pulled_video_stages_only_creator_info(connect: ConnectorFactory, sandbox: Sandbox) -> None:
    tt = connector(connect, sandbox)
    request = PublishRequest("p", "tiktok", "video", "Pulled", media_urls=(VIDEO,),
                             options={"source": "PULL_FROM_URL"})

    staged = tt.stage(request, creator(sandbox))

    assert staged is not None and set(staged) == {"creator"}
    assert sandbox.networks["tiktok"].jobs == {}  # type: ignore[attr-defined]


def test_a_video_due_later_than_its_upload_would_last_stages_only_creator_info(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    request = replace(video(), scheduled_at=NOW + UPLOAD_STAGE_AHEAD + timedelta(minutes=1))

    staged = tt.stage(request, account)
    calls = record_calls(tt)
    tt.publish(replace(request, staged=staged), account)

    assert staged is not None and set(staged) == {"creator"}
    assert [path for _, path, _ in calls[:2]] == ["/tiktok/v2/post/publish/video/init/",
                                                  "/tiktok/upload/video/"]  # no creator_info


@pytest.mark.parametrize("changed", [
    f"{MEDIA}/clip.mp4?bytes=3600",  # another size
    f"{MEDIA}/other.mp4?bytes=3500",  # the same size, other bytes
], ids=["size", "bytes"])
def test_a_video_changed_since_it_was_staged_is_staged_media_gone(
    connect: ConnectorFactory, clock: FixedClock, changed: str
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    staged = tt.stage(video(3500), account)
    now = replace(video(), media_urls=(changed,))  # what the post's URL serves when due
    calls = record_calls(tt)

    with pytest.raises(StagedMediaGone, match="changed since it was staged"):
        tt.publish(replace(now, staged=staged), account)

    assert calls == []  # refused before any call: nothing sent
    assert sandbox.posts("tiktok") == []
    result = tt.publish(now, account)  # what the service does next: publish from the start
    assert [p.id for p in sandbox.posts("tiktok")] == [result.external_id]


def test_an_expired_upload_url_is_staged_media_gone_and_nothing_is_posted(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    request = video(3500)
    staged = tt.stage(request, account)
    assert staged is not None
    clock.advance(timedelta(hours=1))  # TikTok's upload URLs last an hour

    with pytest.raises(StagedMediaGone) as caught:
        tt.publish(replace(request, staged=staged), account)

    assert (caught.value.status, caught.value.network_code) == (403, "invalid_file_upload")
    assert sandbox.posts("tiktok") == []
    assert job_of(sandbox, staged["upload"]["publish_id"])["ready_at"] is None


def test_an_unknown_upload_is_staged_media_gone(connect: ConnectorFactory, clock: FixedClock) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    request = video(3500)
    staged = tt.stage(request, account)
    assert staged is not None
    upload = {**staged["upload"], "upload_url": staged["upload"]["upload_url"].replace(
        "upload_token=", "upload_token=x")}

    with pytest.raises(StagedMediaGone) as caught:
        tt.publish(replace(request, staged={**staged, "upload": upload}), account)

    assert caught.value.status == 404
    assert sandbox.posts("tiktok") == []


def test_a_staged_last_chunk_refused_by_a_server_error_is_sent_again_next_attempt(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    request = replace(video(3500), staged=tt.stage(video(3500), account))
    sandbox.inject("tiktok", "server_error", on="publish", status=503)

    with pytest.raises(RetryablePlatformError):
        tt.publish(request, account)
    calls = record_calls(tt)
    result = tt.publish(request, account)

    assert calls[0] == ("PUT", "/tiktok/upload/video/", True)
    assert [p.id for p in sandbox.posts("tiktok")] == [result.external_id]


def test_privacy_options_changed_since_they_were_read_ahead_start_the_publish_over(
    connect: ConnectorFactory, sandbox: Sandbox
) -> None:
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    request = photos()
    staged = tt.stage(request, account)
    sandbox.account("tiktok", TT.external_account_id).extra["privacy_level_options"] = [  # type: ignore[union-attr]
        "FOLLOWER_OF_CREATOR", "SELF_ONLY"]

    with pytest.raises(StagedMediaGone) as caught:
        tt.publish(replace(request, staged=staged), account)
    result = tt.publish(request, account)  # from the start: creator_info read again

    assert caught.value.network_code == "privacy_level_option_mismatch"
    assert result.raw["privacy_level"] == "FOLLOWER_OF_CREATOR"
    assert len(sandbox.posts("tiktok")) == 1


def test_an_unreadable_staged_upload_is_uploaded_whole(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = small_sandbox(clock)
    tt = connector(connect, sandbox)
    account = creator(sandbox)
    staged = tt.stage(video(3500), account)
    assert staged is not None
    calls = record_calls(tt)

    tt.publish(replace(video(3500), staged={**staged, "upload": {"publish_id": "x"}}), account)

    assert calls[0][1] == "/tiktok/v2/post/publish/video/init/"
    assert len(sandbox.posts("tiktok")) == 1
