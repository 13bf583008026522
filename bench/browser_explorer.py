"""The in-browser explorer in headless Chromium: hover draw time and pin round trip.

1. Hover (Non-local page, default backbone and sample): the mouse crosses ``--hovers`` distinct
   cells; the explorer times each draw with ``performance.now()`` around it (its own samples in
   ``window.__vaeExplorer``) and, per hover, event -> next animation frame. Goal: median draw
   <= 16 ms (one frame). The same on the A² page (``zoo/a2``), the heaviest draw (Σ of n maps).
2. Pin round trip: ``--pins`` clicks, each on a new cell, timed in the page from the pointerdown
   event to the moment the fragment's statistics caption lists the new pin (a MutationObserver, so
   Playwright's own latency is not counted). Goal <= 150 ms. Bytes the server sent per pin are
   counted on the websocket.

Run: ``python bench/browser_explorer.py [--hovers 60] [--pins 24]``; the server runs with
OMP_NUM_THREADS=1 as in the other browser benches. The machine's load is printed first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from common import BROWSER_WAITS, SERVER_ENV, SLOW, machine_line

from harness.browser import (
    CHROMIUM,
    VIEWPORT,
    cell_point,
    chromium,
    clear_pins,
    explorer_probe,
    received_bytes,
    settle,
    wait_explorer,
)
from harness.server import serve_app

HOVER_GOAL_MS = 16.0
PIN_GOAL_MS = 150.0

_PIN_TIMER = """(n) => { window.__vaePin = new Promise((resolve) => {
    let down = null;
    const caption = () => [...document.querySelectorAll('p')].find(
        (p) => p.innerText.startsWith('Queries: '));
    const count = () => ((caption()?.innerText || '').match(/\\(/g) || []).length;
    const done = () => { if (down !== null && count() === n) {
        obs.disconnect(); resolve(performance.now() - down); } };
    const obs = new MutationObserver(done);
    obs.observe(document.body, { subtree: true, childList: true, characterData: true });
    window.addEventListener('pointerdown', (e) => { down = e.timeStamp; }, { once: true, capture: true });
}); }"""


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _line(what: str, xs: list[float], goal: float) -> str:
    med = statistics.median(xs)
    verdict = "met" if med <= goal else "NOT met"
    return (
        f"{what}: median {med:.2f} ms, p90 {_pct(xs, 0.9):.2f} ms, max {max(xs):.2f} ms "
        f"(n = {len(xs)}) | goal <= {goal:.0f} ms: {verdict}"
    )


def _wait_explorer(page, key: str) -> None:
    wait_explorer(page, key, SLOW)
    settle(page, BROWSER_WAITS)


def hover(page, key: str, n: int) -> tuple[list[float], list[float], bool]:
    """Draw times and event -> frame times of ``n`` hovers over distinct cells; whether the
    render counter stayed put (no rerun)."""
    before = explorer_probe(page, key)
    h, w = before["grid"]
    cells = [((7 * i) % h, (5 * i + i // h) % w) for i in range(n)]
    for r, c in cells:
        page.mouse.move(*cell_point(page, r, c, key))
        page.wait_for_timeout(30)
    page.wait_for_timeout(300)
    after = explorer_probe(page, key)
    k = len(before["hoverMs"])
    return (
        after["hoverMs"][k:],
        after["frameMs"][len(before["frameMs"]) :],
        after["render"] == before["render"],
    )


def pins(page, key: str, n: int, received: list[int]) -> tuple[list[float], list[float]]:
    """Round trips (ms) of ``n`` pins on new cells, and the KB the server sent for each."""
    h, w = explorer_probe(page, key)["grid"]
    out, kb = [], []
    shown = 0
    clear_pins(page, BROWSER_WAITS)
    for i in range(n):
        if shown == 8:  # the page keeps 12 at most: start again
            clear_pins(page, BROWSER_WAITS)
            shown = 0
        r, c = (3 * i + 1) % h, (5 * i + 2) % w
        page.evaluate(_PIN_TIMER, shown + 1)
        sent = len(received)
        page.mouse.click(*cell_point(page, r, c, key))
        out.append(float(page.evaluate("() => window.__vaePin")))
        settle(page, BROWSER_WAITS)
        kb.append(sum(received[sent:]) / 1024)
        shown += 1
    return out, kb


def _pick_backbone(page, name: str) -> None:
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    settle(page, BROWSER_WAITS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hovers", type=int, default=60)
    ap.add_argument("--pins", type=int, default=24)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}")
        return 1
    print("# browser explorer: hover draw and pin round trip in headless Chromium")
    print(machine_line() + f" | server OMP_NUM_THREADS=1, niceness {os.nice(0)}")
    print("uptime:", Path("/proc/loadavg").read_text().strip())
    with serve_app(env=SERVER_ENV) as server, chromium() as browser:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        received = received_bytes(page)
        page.goto(f"{server.url}/nonlocal")
        _wait_explorer(page, "nl_explorer")
        draw, frame, quiet = hover(page, "nl_explorer", args.hovers)
        print(
            _line(
                "Non-local hover -> map drawn (performance.now around the draw)",
                draw,
                HOVER_GOAL_MS,
            )
        )
        print(_line("Non-local hover event -> next animation frame", frame, HOVER_GOAL_MS))
        print(f"render counter unchanged by {len(draw)} hovers (no rerun): {quiet}")
        trips, kb = pins(page, "nl_explorer", args.pins, received)
        print(_line("pin click -> statistics shown (fragment rerun)", trips, PIN_GOAL_MS))
        print(f"sent per pin: median {statistics.median(kb):.1f} KB")
        _pick_backbone(page, "zoo/a2")
        page.get_by_test_id("stSidebarNav").get_by_text("Double attention (A²)", exact=True).click()
        _wait_explorer(page, "a2_explorer")
        draw, frame, quiet = hover(page, "a2_explorer", args.hovers)
        print(_line("A² hover -> map + bars + 3 gather maps drawn", draw, HOVER_GOAL_MS))
        print(f"A² render counter unchanged by {len(draw)} hovers: {quiet}")
    print("uptime after:", Path("/proc/loadavg").read_text().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
