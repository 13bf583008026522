"""The README's screenshots, taken from the real app in headless Chromium: ``streamlit run app.py``
on a free localhost port, Debian's ``/usr/bin/chromium`` through Playwright (never
``playwright install``).

1. Non-local page, default sample (Chelsea): three pinned queries and a fourth hovered, so the
   explorer shows the pins outlined and side by side, and the hovered map drawn in the browser.
2. Query-independence page: the reading, Table 1 and the query maps.
3. GCNet in five steps: step 2 (three queries' maps).

Run: ``python tools/screenshots.py [--out docs]``.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("VAE_CHROMIUM", "/usr/bin/chromium")
SLOW = 240_000
IDLE = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)


def _serve() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
        f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("streamlit did not start")


def _settle(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_function(IDLE, timeout=SLOW)
    page.wait_for_timeout(600)


def _cell(page, row: int, col: int) -> tuple[float, float]:
    return page.evaluate(
        "([r, c]) => window.__vaeExplorer.nl_explorer.cellCentre(r, c)", [row, col]
    )


def nonlocal_shot(page, url: str, out: Path) -> None:
    page.goto(f"{url}/nonlocal")
    page.get_by_role("heading", name="Non-local queries").first.wait_for(timeout=SLOW)
    page.wait_for_function(
        "() => window.__vaeExplorer && window.__vaeExplorer.nl_explorer", timeout=SLOW
    )
    _settle(page)
    page.locator(".vae-explorer button.clear").click()
    _settle(page)
    for r, c in [(3, 4), (7, 10), (11, 6)]:
        page.mouse.click(*_cell(page, r, c))
        _settle(page)
    page.mouse.move(*_cell(page, 4, 9))  # hovered, not pinned: drawn by the browser alone
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / "screenshot_nonlocal.png"), full_page=True)


def query_independence_shot(page, url: str, out: Path) -> None:
    page.goto(f"{url}/query_independence")
    page.get_by_role("heading", name="Query independence — GCNet reproduced live").first.wait_for(
        timeout=SLOW
    )
    matrix = page.locator(".vae-qgrid canvas.matrix").first  # the grid (in a shadow root)
    matrix.wait_for(timeout=SLOW)
    _settle(page)
    box = matrix.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / "screenshot_query_independence.png"), full_page=True)


def steps_shot(page, url: str, out: Path) -> None:
    page.goto(f"{url}/gcnet_steps")
    page.get_by_role("heading", name="GCNet in five steps").first.wait_for(timeout=SLOW)
    _settle(page)
    page.get_by_role("button", name="Next").first.click()
    _settle(page)
    page.screenshot(path=str(out / "screenshot_gcnet_steps.png"), full_page=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    proc, url = _serve()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
            for shot in (nonlocal_shot, query_independence_shot, steps_shot):
                shot(page, url, args.out)
                print(f"{shot.__name__}: done")
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
