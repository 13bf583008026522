"""Cold start: ``streamlit run app.py`` (headless, free localhost port) until the first page is
served: /_stcore/health answers "ok" and / returns the app's HTML. The server is killed after.

Run: ``python bench/cold_start.py [--timeout S]``
"""

from __future__ import annotations

import argparse
import subprocess
import time

from common import header

from harness.server import free_port, http_get, start_app, stop_app


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=180.0)
    args = p.parse_args()
    header("cold start: streamlit run app.py -> first page served")
    port = free_port()
    t0 = time.perf_counter()
    server = start_app(port, log=subprocess.PIPE)
    health = page = None
    try:
        # polled every 50 ms, not the harness's wait_healthy: this is the measurement
        while time.perf_counter() - t0 < args.timeout and server.proc.poll() is None:
            if health is None and http_get(f"{server.url}/_stcore/health") == (200, "ok"):
                health = time.perf_counter() - t0
            if health is not None:
                status, body = http_get(f"{server.url}/")
                if status == 200 and "<html" in body.lower():
                    page = time.perf_counter() - t0
                    break
            time.sleep(0.05)
    finally:
        stop_app(server, grace=10)
    if page is None:
        stdout = server.proc.stdout
        out = stdout.read().decode("utf-8", "replace")[-2000:] if stdout else ""
        print(f"server did not serve a page within {args.timeout:.0f} s\n{out}")
        return 1
    print(f"health ok after {health:.2f} s; first page (HTML) served after {page:.2f} s")
    print("(the script itself — model load, first forward — runs when a browser session connects;")
    print(" tests/browser measures that part.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
