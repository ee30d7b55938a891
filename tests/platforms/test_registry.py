"""Where each network lives: real hosts, sandbox (in-process or a server), env overrides."""

from __future__ import annotations

import os

import pytest

from core.config import Settings
from core.errors import PermanentPlatformError, ValidationFailed
from core.platforms import (
    AccountCredentials,
    PublishRequest,
    available_platforms,
    base_urls,
    default_sandbox,
    follow_sandbox_consent,
    get_connector,
    make_pkce_pair,
)
from core.platforms.registry import CONNECTORS
from core.platforms.twitter import TwitterConnector

LIVE = Settings(platform_mode="live", sandbox_url=None)
SANDBOX = Settings(platform_mode="sandbox", sandbox_url=None)


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("HERALD_") and key.endswith(("_BASE", "_CLIENT_ID", "_CLIENT_SECRET")):
            monkeypatch.delenv(key)


@pytest.mark.parametrize(("platform", "api", "oauth"), [
    ("facebook", "https://graph.facebook.com/v21.0", "https://www.facebook.com/v21.0"),
    ("instagram", "https://graph.facebook.com/v21.0", "https://www.facebook.com/v21.0"),
    ("twitter", "https://api.x.com", "https://x.com"),
    ("x", "https://api.x.com", "https://x.com"),
    ("linkedin", "https://api.linkedin.com", "https://www.linkedin.com"),
    ("tiktok", "https://open.tiktokapis.com", "https://www.tiktok.com"),
    ("youtube", "https://www.googleapis.com", "https://accounts.google.com"),
    ("snapchat", "https://businessapi.snapchat.com", "https://accounts.snapchat.com"),
])
def test_live_mode_uses_the_real_hosts(platform: str, api: str, oauth: str) -> None:
    bases = base_urls(platform, LIVE)

    assert (bases.api, bases.oauth) == (api, oauth)


def test_sandbox_mode_points_every_network_at_the_in_process_sandbox() -> None:
    bases = base_urls("youtube", SANDBOX)

    assert bases.api == bases.oauth == "http://sandbox.herald.local/youtube"
    assert set(bases.extra.values()) == {"http://sandbox.herald.local/youtube"}


def test_sandbox_url_points_at_an_out_of_process_server() -> None:
    settings = Settings(platform_mode="sandbox", sandbox_url="http://127.0.0.1:8900/")

    assert base_urls("instagram", settings).api == "http://127.0.0.1:8900/instagram"
    assert base_urls("instagram", settings).extra["login"] == "http://127.0.0.1:8900/instagram"


def test_env_overrides_win_in_every_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_TWITTER_API_BASE", "http://127.0.0.1:9000/")
    monkeypatch.setenv("HERALD_TWITTER_OAUTH_BASE", "http://127.0.0.1:9001")

    for settings in (LIVE, SANDBOX):
        bases = base_urls("twitter", settings)
        assert (bases.api, bases.oauth) == ("http://127.0.0.1:9000", "http://127.0.0.1:9001")
    assert base_urls("facebook", LIVE).api == "https://graph.facebook.com/v21.0"


def test_unknown_platforms_are_refused_and_missing_connectors_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationFailed):
        base_urls("myspace", LIVE)
    assert available_platforms() == ("facebook", "instagram", "twitter", "linkedin", "tiktok", "youtube", "snapchat")
    monkeypatch.delitem(CONNECTORS, "snapchat")
    with pytest.raises(PermanentPlatformError, match="no connector"):
        get_connector("snapchat", SANDBOX)


def test_live_connectors_read_app_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HERALD_TWITTER_CLIENT_ID", "live-id")
    with get_connector("x", LIVE) as connector:
        assert isinstance(connector, TwitterConnector)
        assert connector.config.client_id == "live-id"
        assert connector.config.client_secret is None
        assert connector.config.media_allow_hosts == ()
        assert "client_id=live-id" in connector.authorize_url("s", "https://h.test/cb", "c")


def test_the_default_in_process_sandbox_answers_without_any_setup_but_an_account() -> None:
    sandbox = default_sandbox()
    assert default_sandbox() is sandbox
    sandbox.register_account("twitter", "1500000000000000777", "demo", "demo-token")
    account = AccountCredentials("twitter", "1500000000000000777", "demo", "demo-token")

    with get_connector("twitter", SANDBOX) as connector:
        result = connector.publish(PublishRequest("p", "twitter", "text", "Hello from the demo"),
                                   account)

    assert result.url == f"https://x.com/demo/status/{result.external_id}"
    assert connector.config.media_allow_hosts == ("sandbox.herald.local",)


def test_the_accounts_service_can_click_through_the_in_process_consent_screen() -> None:
    sandbox = default_sandbox()
    sandbox.register_account("instagram", "17841400000000777", "demo.shop", "ig-demo-token")
    verifier, challenge = make_pkce_pair()

    with get_connector("instagram", SANDBOX) as connector:
        url = connector.authorize_url("state-9", "https://herald.test/cb", challenge)
        redirect = follow_sandbox_consent(connector, url, login="17841400000000777")
        tokens = connector.exchange_code(redirect["code"], "https://herald.test/cb", verifier)

    assert redirect["state"] == "state-9"
    assert tokens.account["external_account_id"] == "17841400000000777"
    assert tokens.account["username"] == "demo.shop"
