"""Media fetching: https only, public addresses only, size and type limits; the sandbox serves
fake media for demos and tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.platforms.media import MediaFetchError, fetch_media, is_public_address
from core.platforms.sandbox import Sandbox

SANDBOX = "sandbox.herald.local"
IMAGES = {"image"}


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sandbox.transport()) as http:
        yield http


def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def fetch(url: str, client: httpx.Client, **kwargs: object) -> object:
    options: dict[str, object] = {"max_bytes": 100_000, "allowed_kinds": IMAGES,
                                  "allow_hosts": (SANDBOX,), "client": client,
                                  "resolver": public_resolver}
    options.update(kwargs)
    return fetch_media(url, **options)  # type: ignore[arg-type]


def test_the_sandbox_serves_fake_media_of_the_right_type_and_size(client: httpx.Client) -> None:
    with fetch(f"http://{SANDBOX}/media/cat.png?bytes=5000", client) as media:  # type: ignore[attr-defined]
        assert media.size == 5000
        assert media.content_type == "image/png"
        assert media.read().startswith(b"\x89PNG")
        assert b"".join(media.iter_chunks(1024)) == media.read()


def test_plain_http_is_refused(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError) as caught:
        fetch("http://cdn.example.com/cat.jpg", client)

    assert caught.value.url == "http://cdn.example.com/cat.jpg"
    assert "only https" in caught.value.network_message
    assert "cdn.example.com/cat.jpg" in caught.value.network_message


@pytest.mark.parametrize("url", [
    "https://10.0.0.5/cat.jpg",
    "https://127.0.0.1/cat.jpg",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/cat.jpg",
    "https://[::ffff:192.168.1.1]/cat.jpg",
])
def test_private_loopback_and_link_local_addresses_are_refused(client: httpx.Client,
                                                                url: str) -> None:
    with pytest.raises(MediaFetchError, match="private, loopback or link-local"):
        fetch(url, client)


def test_a_host_that_resolves_to_a_private_address_is_refused(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError) as caught:
        fetch("https://intranet.example.com/cat.jpg", client,
              resolver=lambda host, port: ["93.184.216.34", "192.168.0.10"])

    assert "192.168.0.10" in caught.value.reason


def test_a_redirect_to_a_private_address_is_refused(sandbox: Sandbox) -> None:
    def redirecting(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://10.1.2.3/secret.jpg"})

    with httpx.Client(transport=httpx.MockTransport(redirecting)) as http, \
            pytest.raises(MediaFetchError, match="10.1.2.3"):
        fetch("https://cdn.example.com/cat.jpg", http)


def test_too_large_by_content_length(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError) as caught:
        fetch(f"http://{SANDBOX}/media/big.jpg?bytes=200000", client)

    assert "200000 bytes; the limit is 100000" in caught.value.reason


def test_too_large_while_streaming_when_the_length_is_not_announced(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError, match="larger than the limit of 100000"):
        fetch(f"http://{SANDBOX}/media/big.jpg?bytes=200000&chunked=1", client)


def test_too_large_while_streaming_when_the_length_lies(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError, match="larger than the limit"):
        fetch(f"http://{SANDBOX}/media/big.jpg?bytes=200000&length=10", client)


def test_the_wrong_content_type_is_refused(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError) as caught:
        fetch(f"http://{SANDBOX}/media/cat.jpg?type=text/html", client)

    assert "'text/html' is not image" in caught.value.reason


def test_a_video_where_an_image_is_expected_is_refused(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError, match="'video/mp4' is not image"):
        fetch(f"http://{SANDBOX}/media/clip.mp4", client)


def test_octet_stream_is_judged_by_the_extension(client: httpx.Client) -> None:
    with fetch(f"http://{SANDBOX}/media/cat.jpg?type=application/octet-stream", client) as media:  # type: ignore[attr-defined]
        assert media.kind == "image"


def test_an_error_status_is_refused(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError, match="answered 404") as caught:
        fetch(f"http://{SANDBOX}/media/gone.jpg?status=404", client)

    assert caught.value.status == 404


def test_the_sandbox_host_may_use_http_but_only_when_allowed(client: httpx.Client) -> None:
    with pytest.raises(MediaFetchError, match="only https"):
        fetch(f"http://{SANDBOX}/media/cat.jpg", client, allow_hosts=())


def test_large_media_spills_to_disk_but_reads_back_whole(client: httpx.Client) -> None:
    size = 9 * 1024 * 1024
    with fetch(f"http://{SANDBOX}/media/clip.mp4?bytes={size}", client,
               max_bytes=size, allowed_kinds={"video"}) as media:  # type: ignore[attr-defined]
        assert media.size == size
        assert sum(len(block) for block in media.iter_chunks(1024 * 1024)) == size


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("10.0.0.1", False), ("172.16.3.4", False), ("100.64.0.1", False),
    ("::1", False), ("fe80::1", False), ("2001:4860:4860::8888", True), ("0.0.0.0", False),
    ("224.0.0.1", False), ("not-an-ip", False),
])
def test_public_address_classification(address: str, public: bool) -> None:
    assert is_public_address(address) is public
