"""The README's screenshots, taken from the real app in headless Chromium: ``streamlit run app.py``
on a free localhost port, Debian's ``/usr/bin/chromium`` through Playwright (never
``playwright install``), both through the project's harness (``harness/``).

1. Non-local page, default sample (Chelsea): three pinned queries and a fourth hovered, so the
   explorer shows the pins outlined and side by side, and the hovered map drawn in the browser.
2. Query-independence page: the reading, Table 1 and the query maps.
3. GCNet in five steps: step 2 (three queries' maps).

Run: ``python tools/screenshots.py [--out docs]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python tools/screenshots.py` from anywhere: the harness is there
    sys.path.insert(0, str(ROOT))

from harness.browser import (  # noqa: E402
    QI_HEADING,
    VIEWPORT,
    Waits,
    cell_point,
    chromium,
    clear_pins,
    settle,
    wait_explorer,
)
from harness.server import serve_app  # noqa: E402

# longer pauses than the tests': a screenshot must show plotly and the canvases fully drawn
WAITS = Waits(timeout_ms=240_000, before_ms=400, after_ms=600)
SLOW = WAITS.timeout_ms


def nonlocal_shot(page, url: str, out: Path) -> None:
    page.goto(f"{url}/nonlocal")
    page.get_by_role("heading", name="Non-local queries").first.wait_for(timeout=SLOW)
    wait_explorer(page, timeout=SLOW)
    settle(page, WAITS)
    clear_pins(page, WAITS)
    for r, c in [(3, 4), (7, 10), (11, 6)]:
        page.mouse.click(*cell_point(page, r, c))
        settle(page, WAITS)
    page.mouse.move(*cell_point(page, 4, 9))  # hovered, not pinned: drawn by the browser alone
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / "screenshot_nonlocal.png"), full_page=True)


def query_independence_shot(page, url: str, out: Path) -> None:
    page.goto(f"{url}/query_independence")
    page.get_by_role("heading", name=QI_HEADING).first.wait_for(timeout=SLOW)
    matrix = page.locator(".vae-qgrid canvas.matrix").first  # the grid (in a shadow root)
    matrix.wait_for(timeout=SLOW)
    settle(page, WAITS)
    box = matrix.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / "screenshot_query_independence.png"), full_page=True)


def steps_shot(page, url: str, out: Path) -> None:
    page.goto(f"{url}/gcnet_steps")
    page.get_by_role("heading", name="GCNet in five steps").first.wait_for(timeout=SLOW)
    settle(page, WAITS)
    page.get_by_role("button", name="Next").first.click()
    settle(page, WAITS)
    page.screenshot(path=str(out / "screenshot_gcnet_steps.png"), full_page=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with serve_app(grace=30) as server, chromium() as browser:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        for shot in (nonlocal_shot, query_independence_shot, steps_shot):
            shot(page, server.url, args.out)
            print(f"{shot.__name__}: done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
