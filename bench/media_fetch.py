"""Media download benchmark: client CPU per ``fetch_media``, httpx's streaming transport against
libcurl's.

    python bench/media_fetch.py [--small-calls 2000] [--large-calls 80] [--threads 1,16] [--rounds 3]

Both clients are Herald's (``make_client``); one streams through httpx's own transport (httpcore
+ h11, which is what ``CurlTransport`` handed media downloads to before it streamed them itself),
one through ``CurlTransport``. They take turns fetching the sandbox server's fake media on
loopback, a 4 KB image and a 5 MB video, through ``fetch_media`` with its checks and spooling,
from 1 and 16 threads. The figure is this process's CPU time per download (the server's is its
own process's), the median of a few turns each, since a 5 MB download's cost moves more with
the machine than an API call's. The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402

import httpx  # noqa: E402

from bench._support import SandboxProcess  # noqa: E402
from bench.http_transport import cpu_ms_per_call  # noqa: E402
from core.platforms.curl_transport import CurlTransport  # noqa: E402
from core.platforms.http import POOL_LIMITS, make_client  # noqa: E402
from core.platforms.media import fetch_media  # noqa: E402

SIZES = {"4KB": 4 * 1024, "5MB": 5 * 1024 * 1024}


def fetch_once(client: httpx.Client, url: str, size: int) -> None:
    with fetch_media(url, max_bytes=size, allowed_kinds={"image", "video"},
                     allow_hosts=("127.0.0.1",), client=client) as media:
        assert media.size == size


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--small-calls", type=int, default=2000)
    p.add_argument("--large-calls", type=int, default=80)
    p.add_argument("--threads", default="1,16")
    p.add_argument("--rounds", type=int, default=3, help="turns each; the median is reported")
    args = p.parse_args()
    sandbox = SandboxProcess("--service-time-ms", "0")
    clients = {"httpx": make_client(transport=httpx.HTTPTransport(limits=POOL_LIMITS)),
               "curl": make_client(transport=CurlTransport())}
    calls = {"4KB": args.small_calls, "5MB": args.large_calls}
    results: dict[str, dict[str, dict[str, float]]] = {
        label: {name: {} for name in clients} for label in SIZES}
    try:
        for label, size in SIZES.items():
            url = f"{sandbox.url}/media/{'clip.mp4' if size > 65536 else 'cat.jpg'}?bytes={size}"
            for threads in (int(t) for t in args.threads.split(",")):
                turns: dict[str, list[float]] = {name: [] for name in clients}
                for _ in range(args.rounds):
                    for name, client in clients.items():
                        fetch = functools.partial(fetch_once, client, url, size)
                        if not turns[name]:
                            cpu_ms_per_call(fetch, max(threads * 2, calls[label] // 10), threads)  # warm
                        turns[name].append(cpu_ms_per_call(fetch, calls[label], threads))
                for name in clients:
                    results[label][name][str(threads)] = round(statistics.median(turns[name]), 4)
                httpx_ms, curl_ms = (results[label][n][str(threads)] for n in ("httpx", "curl"))
                print(f"{label:>4} {threads:>3} threads: httpx {httpx_ms:.3f} ms, curl "
                      f"{curl_ms:.3f} ms of CPU per download (ratio {curl_ms / httpx_ms:.2f})")
    finally:
        for client in clients.values():
            client.close()
        sandbox.stop()
    print(json.dumps({"cpu_ms_per_download": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
