"""HTTP transport benchmark: client CPU per API call, httpx's own transport against libcurl's.

    python bench/http_transport.py [--calls 4000] [--threads 1,16,64]

Both clients are Herald's (``make_client``: its headers, timeouts and no cookie jar); one with
httpx's default transport (httpcore + h11), one with ``CurlTransport``. They take turns against
the sandbox server on loopback (no service time), calling a small JSON endpoint from 1, 16 and 64
threads, and the figure is this process's CPU time per call, which machine noise moves far less
than wall time. The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import httpx  # noqa: E402

from bench._support import SandboxProcess  # noqa: E402
from core.platforms.curl_transport import CurlTransport  # noqa: E402
from core.platforms.http import POOL_LIMITS, make_client  # noqa: E402


def cpu_ms_per_call(call: Callable[[], object], calls: int, threads: int) -> float:
    per_thread = max(1, calls // threads)

    def run() -> None:
        for _ in range(per_thread):
            call()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    started = time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (time.process_time() - started) / (per_thread * threads) * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=4000)
    p.add_argument("--threads", default="1,16,64")
    args = p.parse_args()
    sandbox = SandboxProcess("--service-time-ms", "0")
    url = f"{sandbox.url}/_sandbox/health"
    clients = {"httpx": make_client(transport=httpx.HTTPTransport(limits=POOL_LIMITS)),
               "curl": make_client(transport=CurlTransport())}
    results: dict[str, dict[str, float]] = {name: {} for name in clients}
    try:
        for threads in (int(t) for t in args.threads.split(",")):
            for name, client in clients.items():
                cpu_ms_per_call(lambda c=client: c.get(url).content, 200, threads)  # warm the pools
                results[name][str(threads)] = round(cpu_ms_per_call(
                    lambda c=client: c.get(url).content, args.calls, threads), 4)
            ratio = results["curl"][str(threads)] / results["httpx"][str(threads)]
            print(f"{threads:>3} threads: httpx {results['httpx'][str(threads)]:.3f} ms, "
                  f"curl {results['curl'][str(threads)]:.3f} ms of CPU per call (ratio {ratio:.2f})")
    finally:
        for client in clients.values():
            client.close()
        sandbox.stop()
    print(json.dumps({"cpu_ms_per_call": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
