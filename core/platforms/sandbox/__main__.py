"""``python -m core.platforms.sandbox --port 8900``: the platform simulator as an HTTP server.

Point Herald at it with ``HERALD_PLATFORM_MODE=sandbox HERALD_SANDBOX_URL=http://127.0.0.1:8900``.
Other processes drive it through ``/_sandbox/health``, ``/_sandbox/posts``,
``POST /_sandbox/accounts`` and ``POST /_sandbox/faults``.
"""

from __future__ import annotations

import argparse
import sys

from core.platforms.sandbox.server import serve
from core.platforms.sandbox.simulator import Sandbox, SandboxConfig


def _processing(value: str) -> dict[str, float]:
    pairs = (item.split("=", 1) for item in value.split(",") if item.strip())
    return {kind.strip(): float(seconds) for kind, seconds in pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.platforms.sandbox",
                                     description="Herald's platform simulator as an HTTP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--service-time-ms", type=float, default=0.0,
                        help="delay added to every response (simulated network latency)")
    parser.add_argument("--fault-rate-429", type=float, default=0.0,
                        help="probability that an API call is rate limited")
    parser.add_argument("--fault-rate-5xx", type=float, default=0.0,
                        help="probability that an API call fails with a server error")
    parser.add_argument("--processing-seconds", type=_processing, default=None,
                        help="simulated media processing, e.g. image=1,gif=2,video=4")
    parser.add_argument("--no-limits", action="store_true",
                        help="do not enforce the networks' own rate limits and quotas")
    parser.add_argument("--fault-429-reset-seconds", type=float, default=900.0,
                        help="reset time announced by the random 429s (default 900, a 15-minute window)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    config = SandboxConfig(
        enforce_limits=not args.no_limits, seed=args.seed,
        random_faults={"rate_limit": args.fault_rate_429, "server_error": args.fault_rate_5xx},
        random_fault_params={"rate_limit": {"reset_in": args.fault_429_reset_seconds}},
    )
    if args.processing_seconds is not None:
        config.processing_seconds.update(args.processing_seconds)
    sandbox = Sandbox(config=config)
    print(f"Herald sandbox on http://{args.host}:{args.port} "
          f"(networks: {', '.join(sorted(sandbox.networks))})", flush=True)
    serve(sandbox, host=args.host, port=args.port,
          service_time_ms=args.service_time_ms, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
