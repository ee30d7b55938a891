"""Shared plumbing for the benchmarks: a database of their own, the sandbox server, daemons."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU used so far by each PostgreSQL process on this machine (the bench's database is on
    the local server; on a remote one there are none)."""
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    used[int(entry.name)] = cpu_seconds(int(entry.name))
            except OSError:
                continue
    return used


class CpuMeter:
    """CPU seconds used by the daemons, the sandbox and PostgreSQL between start() and stop()."""

    def __init__(self, daemon_pids: list[int], sandbox_pid: int) -> None:
        self.daemon_pids, self.sandbox_pid = daemon_pids, sandbox_pid
        self._start: dict[str, float] = {}
        self._postgres: dict[int, float] = {}
        self.used: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        return {"daemons": sum(cpu_seconds(p) for p in self.daemon_pids),
                "sandbox": cpu_seconds(self.sandbox_pid)}

    def start(self) -> None:
        self._start, self._postgres = self._read(), postgres_cpu_seconds()

    def stop(self) -> dict[str, float]:
        now = self._read()
        self.used = {k: now[k] - self._start[k] for k in now}
        # Backends that exited meanwhile are not counted (their time is gone with them).
        self.used["postgres"] = sum(used - self._postgres.get(pid, 0.0)
                                    for pid, used in postgres_cpu_seconds().items())
        return self.used


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BenchDatabase:
    """A fresh PostgreSQL database for one benchmark run, dropped afterwards."""

    def __init__(self, server_url: str | None = None) -> None:
        server_url = server_url or os.environ.get("HERALD_BENCH_DATABASE_URL") or DEFAULT_SERVER
        if server_url.startswith(("postgresql://", "postgres://")):
            server_url = "postgresql+psycopg://" + server_url.split("://", 1)[1]
        self.name = f"herald_bench_{uuid.uuid4().hex[:8]}"
        self._admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(server_url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


class SandboxProcess:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "core.platforms.sandbox", "--port", str(self.port),
                                         *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/_sandbox/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox server did not start")

    def posts(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_sandbox/posts", timeout=120).json()["posts"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


class DaemonProcess:
    def __init__(self, env: dict[str, str], worker_id: str, concurrency: int | None, log_dir: Path) -> None:
        self.log_path = log_dir / f"{worker_id}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "scheduler_daemon.py", "--worker-id", worker_id,
             *(("--concurrency", str(concurrency)) if concurrency else ()), "--log-level", "WARNING"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(10)
        self._log.close()
        return code


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values) if values else float("nan"),
            "mean": statistics.fmean(values) if values else float("nan")}
