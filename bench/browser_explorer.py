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

from browser_classroom import CHROMIUM, _free_port, _settled, _start, _stop, _ws_counter
from common import machine_line

SLOW = 300_000
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


def _probe(page, key: str) -> dict:
    return page.evaluate(
        "(k) => { const p = window.__vaeExplorer[k]; return {hover: p.hoverMs.slice(), "
        "frame: p.frameMs.slice(), grid: p.grid, render: p.render}; }",
        key,
    )


def _wait_explorer(page, key: str) -> None:
    page.wait_for_function(
        "(k) => window.__vaeExplorer && window.__vaeExplorer[k] && window.__vaeExplorer[k].root",
        arg=key,
        timeout=SLOW,
    )
    page.locator(".vae-explorer canvas.over").first.scroll_into_view_if_needed()
    _settled(page)


def _centre(page, key: str, r: int, c: int) -> tuple[float, float]:
    return tuple(
        page.evaluate("([k, r, c]) => window.__vaeExplorer[k].cellCentre(r, c)", [key, r, c])
    )


def hover(page, key: str, n: int) -> tuple[list[float], list[float], bool]:
    """Draw times and event -> frame times of ``n`` hovers over distinct cells; whether the
    render counter stayed put (no rerun)."""
    before = _probe(page, key)
    h, w = before["grid"]
    cells = [((7 * i) % h, (5 * i + i // h) % w) for i in range(n)]
    for r, c in cells:
        page.mouse.move(*_centre(page, key, r, c))
        page.wait_for_timeout(30)
    page.wait_for_timeout(300)
    after = _probe(page, key)
    k = len(before["hover"])
    return (
        after["hover"][k:],
        after["frame"][len(before["frame"]) :],
        after["render"] == before["render"],
    )


def pins(page, key: str, n: int, received: list[int]) -> tuple[list[float], list[float]]:
    """Round trips (ms) of ``n`` pins on new cells, and the KB the server sent for each."""
    h, w = _probe(page, key)["grid"]
    out, kb = [], []
    shown = 0
    page.locator(".vae-explorer button.clear").click()
    page.get_by_text("Queries: none").wait_for(timeout=SLOW)
    _settled(page)
    for i in range(n):
        if shown == 8:  # the page keeps 12 at most: start again
            page.locator(".vae-explorer button.clear").click()
            page.get_by_text("Queries: none").wait_for(timeout=SLOW)
            _settled(page)
            shown = 0
        r, c = (3 * i + 1) % h, (5 * i + 2) % w
        page.evaluate(_PIN_TIMER, shown + 1)
        sent = len(received)
        page.mouse.click(*_centre(page, key, r, c))
        out.append(float(page.evaluate("() => window.__vaePin")))
        _settled(page)
        kb.append(sum(received[sent:]) / 1024)
        shown += 1
    return out, kb


def _pick_backbone(page, name: str) -> None:
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    _settled(page)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hovers", type=int, default=60)
    ap.add_argument("--pins", type=int, default=24)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}")
        return 1
    from playwright.sync_api import sync_playwright

    print("# browser explorer: hover draw and pin round trip in headless Chromium")
    print(machine_line() + f" | server OMP_NUM_THREADS=1, niceness {os.nice(0)}")
    print("uptime:", Path("/proc/loadavg").read_text().strip())
    port = _free_port()
    proc = _start(port)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
            received = _ws_counter(page)
            page.goto(f"http://127.0.0.1:{port}/nonlocal")
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
            page.get_by_test_id("stSidebarNav").get_by_text(
                "Double attention (A²)", exact=True
            ).click()
            _wait_explorer(page, "a2_explorer")
            draw, frame, quiet = hover(page, "a2_explorer", args.hovers)
            print(_line("A² hover -> map + bars + 3 gather maps drawn", draw, HOVER_GOAL_MS))
            print(f"A² render counter unchanged by {len(draw)} hovers: {quiet}")
            browser.close()
    finally:
        _stop(proc)
    print("uptime after:", Path("/proc/loadavg").read_text().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
