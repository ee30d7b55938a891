"""Real processes for end-to-end tests: the sandbox as an HTTP server, scheduler daemons, and a
private PostgreSQL cluster that a test may restart without disturbing anything else."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop_process(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, and SIGKILL if it has not exited within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class SandboxServer:
    def __init__(self, *, service_time_ms: float = 0.0, extra_args: list[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.platforms.sandbox", "--port", str(self.port),
             "--service-time-ms", str(service_time_ms), *(extra_args or [])],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self._healthy, timeout=20, what="the sandbox server")
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"sandbox server exited: {self.process.stderr.read().decode() if self.process.stderr else ''}")
        try:
            return httpx.get(f"{self.url}/_sandbox/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def register(self, platform: str, external_id: str, username: str, token: str, refresh: str | None = None) -> dict[str, Any]:
        body = {"platform": platform, "external_account_id": external_id, "username": username,
                "access_token": token, "refresh_token": refresh}
        response = self.client.post("/_sandbox/accounts", json=body)
        response.raise_for_status()
        return dict(response.json())

    def posts(self) -> list[dict[str, Any]]:
        return list(self.client.get("/_sandbox/posts").json()["posts"])

    def stop(self) -> None:
        self.client.close()
        stop_process(self.process, timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


class Daemon:
    """``scheduler_daemon.py`` in a process of its own (``once``: with ``--once``), its output in a log file."""

    def __init__(self, env: dict[str, str], worker_id: str, *, concurrency: int = 4, lease_seconds: int = 3,
                 log_path: Path | None = None, once: bool = False) -> None:
        self.worker_id = worker_id
        self.log_path = log_path or Path(tempfile.mkstemp(prefix=f"daemon-{worker_id}-", suffix=".log")[1])
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "scheduler_daemon.py", "--worker-id", worker_id, "--concurrency", str(concurrency),
             "--lease-seconds", str(lease_seconds), "--log-level", "INFO", *(["--once"] if once else [])],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30, *, signum: signal.Signals = signal.SIGTERM) -> int:
        """Send ``signum`` (SIGTERM by default) and wait for the exit code."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout)
        self._log.close()
        return code

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if not self._log.closed:
            self._log.close()


def daemon_env(database_url: str, secret_key: str, sandbox_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update({
        "HERALD_DATABASE_URL": database_url, "HERALD_SECRET_KEY": secret_key,
        "HERALD_PLATFORM_MODE": "sandbox", "HERALD_SANDBOX_URL": sandbox_url,
        "HERALD_QUEUE_LEASE_SECONDS": "3", "HERALD_RECONCILE_DELAY_SECONDS": "1",
        "PYTHONUNBUFFERED": "1", **extra,
    })
    return env


class PostgresNotInstalled(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl) to start a private cluster with."""


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on its own port (initdb as the postgres user), so a test
    can restart the server under a running daemon."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise PostgresNotInstalled("PostgreSQL server binaries are not installed (no /usr/lib/postgresql/*/bin)")
        self.bin = bins[-1]
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="herald-pg-"))
        self.data = self.dir / "data"
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                           "--no-sync", "-E", "UTF8"])
        self.start()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, cmd: list[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
                           "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                           "-l", str(self.dir / "server.log"), "start"])

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop"])

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
