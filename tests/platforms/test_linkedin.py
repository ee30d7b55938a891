"""LinkedIn specifics: little-text escaping, x-restli-id, versioned headers, multi-part video
with ETags, documents, 422 DUPLICATE_POST, bare 429 until 00:00 UTC, service error codes,
organization authors and their statistics, member analytics, programmatic refresh, staging
the uploads ahead and the sandbox dropping unused uploads."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.clock import FixedClock
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    RetryablePlatformError,
    StagedMediaGone,
)
from core.platforms import AccountCredentials, PublishRequest
from core.platforms.linkedin import (
    ASSET_GRACE_SECONDS,
    LinkedInConnector,
    escape_little_text,
    unescape_little_text,
)
from core.platforms.sandbox import Sandbox, SandboxConfig
from core.platforms.sandbox.linkedin import render_little_text
from tests.platforms.conftest import NOW, ConnectorFactory, FakeSleep, record_calls
from tests.platforms.contract import CASES, IMAGE, IMAGE_2, MEDIA, VIDEO
from tests.platforms.recording import Recorder

LI = next(case for case in CASES if case.platform == "linkedin")
ORG = "urn:li:organization:2414183"
BASE = "http://sandbox.herald.local/linkedin"
REST = {"LinkedIn-Version": "202601", "X-Restli-Protocol-Version": "2.0.0"}


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    return Recorder(sandbox)


@pytest.fixture
def li(connect: ConnectorFactory, recorder: Recorder) -> LinkedInConnector:
    connector = connect("linkedin", transport=httpx.MockTransport(recorder))
    assert isinstance(connector, LinkedInConnector)
    return connector


@pytest.fixture
def ada(sandbox: Sandbox) -> AccountCredentials:
    return LI.register(sandbox)


def post(text: str, post_type: str = "text", media: tuple[str, ...] = (), **kwargs: object) -> PublishRequest:
    return PublishRequest("p", "linkedin", post_type, text, media_urls=media, **kwargs)  # type: ignore[arg-type]


def org_account(sandbox: Sandbox, **extra: object) -> AccountCredentials:
    sandbox.register_account("linkedin", "2414183", "Acme Corp", "org-token",
                             extra={"author_urn": ORG, "member_id": "Hx7Lq2Bv9K", **extra})
    return AccountCredentials("linkedin", "2414183", "Acme Corp", "org-token",
                              extra={"author_urn": ORG, "member_id": "Hx7Lq2Bv9K"})


# --- little text -------------------------------------------------------------------------------


def test_reserved_characters_are_escaped_with_a_backslash() -> None:
    text = r"Price (50% off) [now] {x} *y* ~z~ a_b c|d <e> \ mail me@acme.test"

    assert escape_little_text(text) == (
        r"Price \(50% off\) \[now\] \{x\} \*y\* \~z\~ a\_b c\|d \<e\> \\ mail me\@acme.test")


def test_hashtags_and_mentions_are_kept_as_written() -> None:
    text = ("Launch #herald_app with @[Acme Corp](urn:li:organization:2414183), "
            "@[Ada Lovelace](urn:li:person:Hx7Lq2Bv9K) and {hashtag|\\#|news}")

    assert escape_little_text(text) == text


def test_a_hash_that_is_not_a_hashtag_is_escaped() -> None:
    text = "See https://acme.test/docs_v2#setup, C# tips and #2026"

    assert escape_little_text(text) == r"See https://acme.test/docs\_v2\#setup, C\# tips and \#2026"


@pytest.mark.parametrize("text", [
    "Plain words", "Mixed (a) [b] {c} #tag @[Acme](urn:li:organization:1) a_b\\c",
    "emoji 🚀 and <html> & *bold*", "trailing backslash \\",
])
def test_escaped_text_reads_as_written_on_linkedin_and_unescapes_back(text: str) -> None:
    escaped = escape_little_text(text)

    assert render_little_text(escaped) == text.replace("@[Acme](urn:li:organization:1)", "Acme")
    assert unescape_little_text(escaped) == text


def test_published_commentary_is_escaped_and_reads_as_written(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox
) -> None:
    text = "Q4 (final) numbers: 10% up_front #results [thread] @ noon"

    result = li.publish(post(text), ada)

    assert sandbox.posts("linkedin")[0].text == text
    entry = sandbox.networks["linkedin"].entries[result.external_id]  # type: ignore[attr-defined]
    assert entry["commentary"] == r"Q4 \(final\) numbers: 10% up\_front #results \[thread\] \@ noon"


def test_unescaped_reserved_characters_cut_the_visible_text(sandbox: Sandbox) -> None:
    sandbox.register_account("linkedin", "Hx7Lq2Bv9K", "Ada", "raw-token")
    with httpx.Client(transport=sandbox.transport()) as http:
        response = http.post(f"{BASE}/rest/posts", headers={**REST, "Authorization": "Bearer raw-token"},
                             json={"author": "urn:li:person:Hx7Lq2Bv9K", "commentary": "Hello (world)",
                                   "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
                                   "distribution": {"feedDistribution": "MAIN_FEED"}})

    assert response.status_code == 201
    assert sandbox.posts("linkedin")[0].text == "Hello "


# --- the Posts API -----------------------------------------------------------------------------


def test_the_post_urn_comes_from_the_x_restli_id_header_of_an_empty_201(
    li: LinkedInConnector, ada: AccountCredentials, recorder: Recorder
) -> None:
    result = li.publish(post("Header ids"), ada)

    [(request, response)] = recorder.to("POST", "/rest/posts")
    assert response.status_code == 201 and response.content == b""
    assert response.headers["x-restli-id"] == result.external_id
    assert result.url == f"https://www.linkedin.com/feed/update/{result.external_id}"
    sent = json.loads(request.content)
    assert sent["author"] == "urn:li:person:Hx7Lq2Bv9K"
    assert sent["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert sent["lifecycleState"] == "PUBLISHED"


def test_every_rest_call_carries_the_version_headers(
    li: LinkedInConnector, ada: AccountCredentials, recorder: Recorder
) -> None:
    li.publish(post("Two photos", "carousel", (IMAGE, IMAGE_2)), ada)

    rest = [q for q, _ in recorder.calls if "/rest/" in q.url.path]
    assert len(rest) >= 5  # two initializeUploads, status polls, the post
    for request in rest:
        assert request.headers["linkedin-version"] == "202601"
        assert request.headers["x-restli-protocol-version"] == "2.0.0"


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({"X-Restli-Protocol-Version": "2.0.0"}, 400, "VERSION_MISSING"),
    ({"LinkedIn-Version": "202301", "X-Restli-Protocol-Version": "2.0.0"}, 426, "NONEXISTENT_VERSION"),
    ({"LinkedIn-Version": "202601"}, 400, "ILLEGAL_ARGUMENT"),
])
def test_the_sandbox_refuses_calls_without_valid_version_headers(
    sandbox: Sandbox, headers: dict[str, str], status: int, code: str
) -> None:
    sandbox.register_account("linkedin", "Hx7Lq2Bv9K", "Ada", "raw-token")
    with httpx.Client(transport=sandbox.transport()) as http:
        response = http.post(f"{BASE}/rest/posts", json={},
                             headers={**headers, "Authorization": "Bearer raw-token"})

    assert (response.status_code, response.json()["code"]) == (status, code)


def test_multiimage_uploads_each_image_and_posts_them_together(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox, recorder: Recorder
) -> None:
    li.publish(post("Gallery", "carousel", (IMAGE, IMAGE_2), options={"alt_texts": ["One", ""]}), ada)

    [(request, _)] = recorder.to("POST", "/rest/posts")
    images = json.loads(request.content)["content"]["multiImage"]["images"]
    assert [i["id"].startswith("urn:li:image:") for i in images] == [True, True]
    assert images[0]["altText"] == "One" and "altText" not in images[1]
    assert len(recorder.to("PUT", "/dms-uploads/")) == 2
    assert sandbox.posts("linkedin")[0].post_type == "carousel"


def test_a_link_post_is_an_article_with_source_and_title(
    li: LinkedInConnector, ada: AccountCredentials, recorder: Recorder
) -> None:
    li.publish(post("Read https://acme.test/blog/launch.", "link", title="Our launch"), ada)

    [(request, _)] = recorder.to("POST", "/rest/posts")
    assert json.loads(request.content)["content"] == {
        "article": {"source": "https://acme.test/blog/launch", "title": "Our launch"}}


def test_video_goes_up_in_parts_with_etags_then_finalize_then_polls_available(
    connect: ConnectorFactory, clock: FixedClock, sleep: FakeSleep
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"linkedin": {"video_part_bytes": 100_000}}))
    recorder = Recorder(sandbox)
    li = connect("linkedin", sandbox=sandbox, transport=httpx.MockTransport(recorder))
    account = LI.register(sandbox)

    result = li.publish(post("Watch", "video", (f"{MEDIA}/launch.mp4?bytes=250000",)), account)

    [(init, init_response)] = recorder.to("POST", "/rest/videos")[:1]
    assert json.loads(init.content)["initializeUploadRequest"]["fileSizeBytes"] == 250_000
    instructions = init_response.json()["value"]["uploadInstructions"]
    assert [(i["firstByte"], i["lastByte"]) for i in instructions] == [
        (0, 99_999), (100_000, 199_999), (200_000, 249_999)]
    puts = recorder.to("PUT", "/dms-uploads/")
    assert [len(q.content) for q, _ in puts] == [100_000, 100_000, 50_000]
    assert {q.headers["content-type"] for q, _ in puts} == {"application/octet-stream"}
    [(finalize, _)] = [c for c in recorder.to("POST", "/rest/videos") if b"finalizeUpload" in c[0].content]
    request = json.loads(finalize.content)["finalizeUploadRequest"]
    assert request["uploadedPartIds"] == [r.headers["etag"] for _, r in puts]
    assert request["uploadToken"] == init_response.json()["value"]["uploadToken"] != ""
    assert sleep.total >= 4.0  # the sandbox processes video for 4 s of its clock
    assert result.external_id.startswith("urn:li:ugcPost:")


def test_finalize_with_the_etags_out_of_order_is_refused(sandbox: Sandbox) -> None:
    sandbox.config.limits["linkedin"] = {"video_part_bytes": 10}
    sandbox.register_account("linkedin", "Hx7Lq2Bv9K", "Ada", "raw-token")
    auth = {**REST, "Authorization": "Bearer raw-token"}
    with httpx.Client(transport=sandbox.transport(), headers=auth) as http:
        value = http.post(f"{BASE}/rest/videos?action=initializeUpload", json={
            "initializeUploadRequest": {"owner": "urn:li:person:Hx7Lq2Bv9K", "fileSizeBytes": 20}}
        ).json()["value"]
        etags = [http.put(i["uploadUrl"], content=b"x" * 10).headers["etag"]
                 for i in value["uploadInstructions"]]
        finalize = {"video": value["video"], "uploadToken": value["uploadToken"]}
        wrong = http.post(f"{BASE}/rest/videos?action=finalizeUpload", json={
            "finalizeUploadRequest": {**finalize, "uploadedPartIds": etags[::-1]}})
        right = http.post(f"{BASE}/rest/videos?action=finalizeUpload", json={
            "finalizeUploadRequest": {**finalize, "uploadedPartIds": etags}})

    assert wrong.status_code == 400
    assert "uploadedPartIds" in wrong.json()["message"]
    assert right.status_code == 200


def test_a_pdf_is_published_as_a_document_with_a_title(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox, recorder: Recorder
) -> None:
    result = li.publish(post("Our deck", "image", (f"{MEDIA}/deck.pdf?bytes=9000",),
                             title="Q4 deck"), ada)

    [(put, _)] = recorder.to("PUT", "/dms-uploads/")
    assert put.headers["content-type"] == "application/pdf"
    [(request, _)] = recorder.to("POST", "/rest/posts")
    media = json.loads(request.content)["content"]["media"]
    assert media["id"].startswith("urn:li:document:") and media["title"] == "Q4 deck"
    assert sandbox.posts("linkedin")[0].post_type == "document"
    assert result.external_id.startswith("urn:li:ugcPost:")


def test_an_image_status_unreadable_with_a_member_token_waits_one_grace_period(
    sandbox: Sandbox, connect: ConnectorFactory, ada: AccountCredentials, sleep: FakeSleep
) -> None:
    def member_cannot_read_images(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and "/rest/images/" in request.url.path:
            return httpx.Response(403, json={"status": 403, "code": "ACCESS_DENIED",
                                             "message": "Not enough permissions"})
        return sandbox.handle(request)

    li = connect("linkedin", transport=httpx.MockTransport(member_cannot_read_images))

    result = li.publish(post("Photo", "image", (IMAGE,)), ada)

    assert sleep.calls == [ASSET_GRACE_SECONDS]
    assert result.external_id.startswith("urn:li:share:")


# --- errors ------------------------------------------------------------------------------------


def test_the_same_commentary_twice_is_422_duplicate_post(
    li: LinkedInConnector, ada: AccountCredentials
) -> None:
    first = li.publish(post("We are hiring"), ada)

    with pytest.raises(PermanentPlatformError) as caught:
        li.publish(post("We are hiring"), ada)

    assert caught.value.status == 422
    assert caught.value.network_code == "DUPLICATE_POST"
    assert f"duplicate of {first.external_id}" in caught.value.network_message


def test_a_bare_429_waits_until_the_next_utc_midnight(
    connect: ConnectorFactory, clock: FixedClock
) -> None:
    sandbox = Sandbox(clock=clock, config=SandboxConfig(limits={"linkedin": {"posts_per_day": 1}}))
    recorder = Recorder(sandbox)
    li = connect("linkedin", sandbox=sandbox, transport=httpx.MockTransport(recorder))
    account = LI.register(sandbox)
    li.publish(post("one"), account)

    with pytest.raises(RetryablePlatformError) as caught:
        li.publish(post("two"), account)

    assert caught.value.status == 429
    assert caught.value.retry_after == datetime(2026, 11, 25, tzinfo=UTC)
    limited = recorder.calls[-1][1]
    assert not {"retry-after", "x-ratelimit-reset"} & set(limited.headers)
    clock.set(datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC))
    assert li.publish(post("two"), account).external_id


@pytest.mark.parametrize(("cause", "code"), [("expired", 65602), ("revoked", 65601),
                                             ("unknown", 65600)])
def test_auth_failures_carry_linkedins_service_error_codes(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox, cause: str, code: int
) -> None:
    account = ada
    if cause == "expired":
        sandbox.inject("linkedin", "token_expired")
    elif cause == "revoked":
        li.revoke(ada)
    else:
        account = AccountCredentials("linkedin", ada.external_account_id, ada.username, "nope")

    with pytest.raises(AuthPlatformError) as caught:
        li.publish(post("Auth"), account)

    assert (caught.value.status, caught.value.network_code) == (401, code)


def test_a_post_as_someone_else_is_access_denied(li: LinkedInConnector, ada: AccountCredentials) -> None:
    stranger = AccountCredentials("linkedin", ada.external_account_id, ada.username,
                                  ada.access_token, extra={"author_urn": "urn:li:organization:99"})

    with pytest.raises(PermanentPlatformError) as caught:
        li.publish(post("Not mine"), stranger)

    assert caught.value.status == 403
    assert caught.value.network_code == 100


# --- authors and metrics -----------------------------------------------------------------------


def test_an_organization_posts_as_itself_and_gets_share_statistics(
    li: LinkedInConnector, sandbox: Sandbox, clock: FixedClock, recorder: Recorder
) -> None:
    account = org_account(sandbox)
    result = li.publish(post("From the page", "image", (IMAGE,)), account)
    clock.advance(timedelta(days=1))

    metrics = li.fetch_metrics([result.external_id], account)[result.external_id]

    entry = sandbox.networks["linkedin"].entries[result.external_id]  # type: ignore[attr-defined]
    assert entry["author"] == ORG
    [(stats, _)] = recorder.to("GET", "organizationalEntityShareStatistics")
    assert f"shares=List(urn%3Ali%3Ashare%3A{result.external_id.rsplit(':', 1)[1]})" in str(stats.url)
    assert metrics.views > 0 and metrics.likes > 0
    assert metrics.reach is not None and metrics.clicks is not None
    assert not recorder.to("GET", "memberCreatorPostAnalytics")


def test_member_metrics_come_from_member_post_analytics(
    li: LinkedInConnector, ada: AccountCredentials, clock: FixedClock, recorder: Recorder
) -> None:
    urn = li.publish(post("Member numbers"), ada).external_id
    clock.advance(timedelta(days=1))

    snapshot = li.fetch_metrics([urn], ada)[urn]

    queries = [parse_qs(urlsplit(str(q.url)).query)["queryType"][0]
               for q, _ in recorder.to("GET", "memberCreatorPostAnalytics")]
    assert queries == ["IMPRESSION", "MEMBERS_REACHED", "RESHARE"]
    assert snapshot.views > 0 and snapshot.reach is not None and snapshot.clicks is None


def test_without_the_analytics_scope_members_still_get_likes_and_comments(
    li: LinkedInConnector, sandbox: Sandbox, clock: FixedClock
) -> None:
    sandbox.register_account("linkedin", "Hx7Lq2Bv9K", "Ada", "plain-token",
                             scopes=("openid", "profile", "w_member_social"))
    account = AccountCredentials("linkedin", "Hx7Lq2Bv9K", "Ada", "plain-token")
    urn = li.publish(post("No analytics scope"), account).external_id
    clock.advance(timedelta(days=1))

    snapshot = li.fetch_metrics([urn], account)[urn]

    assert snapshot.likes > 0 and snapshot.views == 0


# --- OAuth -------------------------------------------------------------------------------------


def test_authorize_url_has_space_separated_scopes_and_no_pkce(li: LinkedInConnector) -> None:
    url = li.authorize_url("st", "https://herald.test/cb", "challenge")

    assert url.startswith("http://sandbox.herald.local/linkedin/oauth/v2/authorization?")
    assert "scope=openid%20profile%20w_member_social" in url
    assert "code_challenge" not in url


def test_programmatic_refresh_keeps_the_refresh_token_and_its_countdown(
    li: LinkedInConnector, sandbox: Sandbox, clock: FixedClock
) -> None:
    with httpx.Client(transport=sandbox.transport()) as browser:
        location = browser.get(li.authorize_url("s", "https://herald.test/cb")).headers["location"]
    tokens = li.exchange_code(parse_qs(urlsplit(location).query)["code"][0], "https://herald.test/cb")
    assert tokens.expires_at == NOW + timedelta(days=60)
    assert tokens.refresh_expires_at == NOW + timedelta(days=365)
    clock.advance(timedelta(days=30))
    account = AccountCredentials("linkedin", tokens.account["external_account_id"],
                                 tokens.account["username"], tokens.access_token,
                                 tokens.refresh_token, extra=tokens.account["extra"])

    refreshed = li.refresh_token(account)

    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == tokens.refresh_token  # LinkedIn does not rotate
    assert refreshed.expires_at == NOW + timedelta(days=90)
    assert refreshed.refresh_expires_at == NOW + timedelta(days=365)
    assert li.refresh_token(account).refresh_token == tokens.refresh_token


def test_with_organization_admin_scope_the_managed_pages_are_offered(
    li: LinkedInConnector, sandbox: Sandbox
) -> None:
    sandbox.register_account("linkedin", "Hx7Lq2Bv9K", "Ada Lovelace", "seed",
                             extra={"organizations": [{"id": "2414183", "name": "Acme Corp"}]})
    li.config.scopes = ("openid", "profile", "w_member_social", "w_organization_social",
                        "r_organization_social", "rw_organization_admin")
    url = li.authorize_url("s", "https://herald.test/cb") + "&sandbox_login=Hx7Lq2Bv9K"
    with httpx.Client(transport=sandbox.transport()) as browser:
        code = parse_qs(urlsplit(browser.get(url).headers["location"]).query)["code"][0]

    tokens = li.exchange_code(code, "https://herald.test/cb")

    assert [(c["external_account_id"], c["username"], c["extra"]["author_urn"])
            for c in tokens.account["choices"]] == [
        ("Hx7Lq2Bv9K", "Ada Lovelace", "urn:li:person:Hx7Lq2Bv9K"),
        ("2414183", "Acme Corp", ORG)]
    page = tokens.account["choices"][1]
    account = AccountCredentials("linkedin", page["external_account_id"], page["username"],
                                 tokens.access_token, extra=page["extra"])
    result = li.publish(post("Hello from the page"), account)
    assert sandbox.networks["linkedin"].entries[result.external_id]["author"] == ORG  # type: ignore[attr-defined]


# --- staging the uploads ahead of the scheduled time ----------------------------------------


STAGED_POSTS = {
    "image": post("Staged photo", "image", (IMAGE,)),
    "carousel": post("Staged gallery", "carousel", (IMAGE, IMAGE_2)),
    "video": post("Staged clip", "video", (VIDEO,), title="Clip"),
    "document": post("Staged deck", "image", (f"{MEDIA}/deck.pdf?bytes=9000",), title="Q4 deck"),
}


@pytest.mark.parametrize("kind", list(STAGED_POSTS))
def test_a_staged_post_is_only_post_rest_posts_when_due(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox, clock: FixedClock, kind: str
) -> None:
    request = STAGED_POSTS[kind]
    staged = li.stage(request, ada)
    assert staged is not None and json.loads(json.dumps(staged)) == staged
    assert sandbox.posts("linkedin") == []
    clock.advance(timedelta(hours=20))  # within the staging TTL
    calls = record_calls(li)

    result = li.publish(replace(request, staged=staged), ada)

    assert calls == [("POST", "/linkedin/rest/posts", True)]
    [published] = sandbox.posts("linkedin")
    assert published.id == result.external_id and published.text == request.text
    assert published.post_type == kind
    assert result.raw["content"] == staged


@pytest.mark.parametrize("request_", [post("Just words"), post("Read https://acme.test/a", "link")],
                         ids=["text", "link"])
def test_text_and_link_posts_stage_nothing(
    li: LinkedInConnector, ada: AccountCredentials, request_: PublishRequest
) -> None:
    calls = record_calls(li)

    assert li.stage(request_, ada) is None
    assert calls == []


def test_a_staged_image_the_sandbox_dropped_unused_is_gone_and_nothing_is_posted(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox, clock: FixedClock
) -> None:
    request = STAGED_POSTS["image"]
    staged = li.stage(request, ada)
    assert li.staging_ttl == timedelta(hours=23)
    clock.advance(timedelta(hours=24))  # the sandbox drops uploads no post used after 24 h

    with pytest.raises(StagedMediaGone) as caught:
        li.publish(replace(request, staged=staged), ada)

    assert caught.value.status == 422
    assert sandbox.posts("linkedin") == []
    assert li.publish(request, ada).external_id  # published whole, it goes out


def test_an_unknown_staged_asset_is_gone(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox
) -> None:
    staged = {"multiImage": {"images": [{"id": "urn:li:image:C4E10AQnotThere1"},
                                        {"id": "urn:li:image:C4E10AQnotThere2"}]}}

    with pytest.raises(StagedMediaGone):
        li.publish(replace(STAGED_POSTS["carousel"], staged=staged), ada)

    assert sandbox.posts("linkedin") == []


def test_a_staged_post_refused_for_its_text_is_not_taken_for_gone_media(
    li: LinkedInConnector, ada: AccountCredentials
) -> None:
    li.publish(post("Staged photo"), ada)
    request = STAGED_POSTS["image"]
    staged = li.stage(request, ada)

    with pytest.raises(PermanentPlatformError) as caught:
        li.publish(replace(request, staged=staged), ada)

    assert not isinstance(caught.value, StagedMediaGone)
    assert caught.value.network_code == "DUPLICATE_POST"


def test_an_unstaged_post_naming_an_unknown_asset_is_refused(sandbox: Sandbox) -> None:
    sandbox.register_account("linkedin", "Hx7Lq2Bv9K", "Ada", "raw-token")
    with httpx.Client(transport=sandbox.transport()) as http:
        response = http.post(f"{BASE}/rest/posts", headers={**REST, "Authorization": "Bearer raw-token"},
                             json={"author": "urn:li:person:Hx7Lq2Bv9K", "commentary": "Photo",
                                   "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
                                   "distribution": {"feedDistribution": "MAIN_FEED"},
                                   "content": {"media": {"id": "urn:li:image:C4E10AQnotThere"}}})

    assert response.status_code == 422
    [refusal] = response.json()["errorDetails"]["inputErrors"]
    assert refusal["code"] == "INVALID_VALUE"
    assert refusal["input"]["inputPath"]["fieldPath"] == "/content/media/id"
    assert "urn:li:image:C4E10AQnotThere" in response.json()["message"]
    assert sandbox.posts("linkedin") == []


def test_the_sandbox_drops_unused_uploads_after_24_hours_but_keeps_used_ones(
    li: LinkedInConnector, ada: AccountCredentials, sandbox: Sandbox, clock: FixedClock
) -> None:
    used = li.publish(post("Kept", "image", (IMAGE,)), ada).raw["content"]["media"]["id"]
    staged = li.stage(post("Dropped", "image", (IMAGE_2,)), ada)
    assert staged is not None
    unused = staged["media"]["id"]
    clock.advance(timedelta(hours=24))
    auth = {**REST, "Authorization": f"Bearer {ada.access_token}"}

    with httpx.Client(transport=sandbox.transport(), headers=auth) as http:
        statuses = {urn: http.get(f"{BASE}/rest/images/{urn}").status_code for urn in (used, unused)}

    assert statuses == {used: 200, unused: 404}
