"""Cold start: ``streamlit run app.py`` (headless, free localhost port) until the first page is
served: /_stcore/health answers "ok" and / returns the app's HTML. The server is killed after.

Run: ``python bench/cold_start.py [--timeout S]``
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from common import ROOT, header


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read(4096).decode("utf-8", "replace")
    except Exception:
        return 0, ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=180.0)
    args = p.parse_args()
    header("cold start: streamlit run app.py -> first page served")
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    health = page = None
    try:
        while time.perf_counter() - t0 < args.timeout and proc.poll() is None:
            if health is None and _get(f"http://127.0.0.1:{port}/_stcore/health") == (200, "ok"):
                health = time.perf_counter() - t0
            if health is not None:
                status, body = _get(f"http://127.0.0.1:{port}/")
                if status == 200 and "<html" in body.lower():
                    page = time.perf_counter() - t0
                    break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group, started above
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if page is None:
        out = proc.stdout.read().decode("utf-8", "replace")[-2000:] if proc.stdout else ""
        print(f"server did not serve a page within {args.timeout:.0f} s\n{out}")
        return 1
    print(f"health ok after {health:.2f} s; first page (HTML) served after {page:.2f} s")
    print("(the script itself — model load, first forward — runs when a browser session connects;")
    print(" tests/browser measures that part.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
