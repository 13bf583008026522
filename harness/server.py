"""``streamlit run app.py`` headless on a free localhost port, in its own process group, so that it
and nothing else is stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
HEALTH_TIMEOUT = 120.0  # s: a cold server imports torch and Streamlit on a busy 2-core machine


def free_port() -> int:
    """A localhost port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str) -> tuple[int, str]:
    """(status, first 4 KB of the body) of ``url``, or (0, "") when nothing answers in 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read(4096).decode("utf-8", "replace")
    except Exception:
        return 0, ""


@dataclass
class AppServer:
    """A running ``streamlit run app.py``: its process (leader of its own process group, so its
    pid is the group's id) and the port it serves."""

    proc: subprocess.Popen
    port: int
    log: IO | None = field(default=None, repr=False)  # a log file the harness opened

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_app(
    port: int,
    *,
    root: Path = ROOT,
    log: Path | int = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> AppServer:
    """Start ``streamlit run app.py`` of checkout ``root`` on 127.0.0.1:``port`` without waiting.

    ``log``: a file the server's output is appended to, or ``subprocess.DEVNULL`` / ``PIPE``.
    ``env``: variables set over this process's environment (e.g. ``OMP_NUM_THREADS``)."""
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
        f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
    ]  # fmt: skip
    opened = None
    if isinstance(log, Path):
        log.parent.mkdir(parents=True, exist_ok=True)
        opened = open(log, "a")  # closed by stop_app
    proc = subprocess.Popen(
        cmd,
        cwd=root,
        stdout=opened or log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    return AppServer(proc, port, opened)


def wait_healthy(server: AppServer, timeout: float = HEALTH_TIMEOUT, poll: float = 0.3) -> None:
    """Wait until ``/_stcore/health`` answers 200; raise if the server exits or ``timeout`` s
    pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.proc.returncode}")
        if http_get(f"{server.url}/_stcore/health")[0] == 200:
            return
        time.sleep(poll)
    raise TimeoutError(f"streamlit did not answer at {server.url} within {timeout:.0f} s")


def stop_app(server: AppServer, grace: float = 20.0) -> None:
    """Stop a server started by :func:`start_app`: SIGTERM to its own process group, SIGKILL
    after ``grace`` s; close the log the harness opened."""
    proc = server.proc
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if server.log is not None:
        server.log.close()


@contextmanager
def serve_app(
    port: int | None = None,
    *,
    root: Path = ROOT,
    log: Path | int = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    grace: float = 20.0,
) -> Iterator[AppServer]:
    """A server that answers its health check for the ``with`` block, stopped after it (also when
    it never came up)."""
    server = start_app(free_port() if port is None else port, root=root, log=log, env=env)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop_app(server, grace)
