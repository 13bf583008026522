"""Debian's Chromium through Playwright (``executable_path=/usr/bin/chromium``; never
``playwright install``: nothing can be downloaded here), and what a driver of the app needs in a
tab: wait until Streamlit's run is over, read the Non-local explorer's probe, log the script
states and the bytes the server sends, make the pictures a tab uploads.

Playwright is imported inside :func:`chromium`, so this module imports without it (a script's
``--help``, the layer checks)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# the Query-independence page's title says whether GCNet's finding reproduces here, computed from
# the trained models (viz.views.gcnet_recipe.family_status): tests match its fixed start
QI_HEADING = re.compile(r"^Query independence — GCNet's finding")

CHROMIUM = os.environ.get("VAE_CHROMIUM", "/usr/bin/chromium")
# nothing in the background: no network of its own, no updates, no sync, no first-run pages
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
VIEWPORT = {"width": 1500, "height": 1100}
SLOW = 180_000  # ms: first model load and capture on a busy 2-core machine


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium for the ``with`` block (Playwright's ``Browser``), closed after it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class Waits:
    """How :func:`settle` waits: a pause before looking (a click's rerun may not have started
    yet), the deadline of the run (ms), a pause after (plotly finishing its drawing), and how often
    the page is polled (``"raf"``: every animation frame; a number: every so many ms, cheaper for
    many tabs at once). The default is the browser tests'."""

    timeout_ms: int = SLOW
    before_ms: int = 300
    after_ms: int = 300
    polling: int | str = "raf"


TEST_WAITS = Waits()

IDLE = (
    """() => document.querySelector('[data-testid="stApp"]')"""
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)


def settle(page, waits: Waits = TEST_WAITS) -> None:
    """Wait until Streamlit has finished the current run (``stApp``'s script state)."""
    page.wait_for_timeout(waits.before_ms)
    page.wait_for_function(IDLE, timeout=waits.timeout_ms, polling=waits.polling)
    if waits.after_ms:
        page.wait_for_timeout(waits.after_ms)


# every change of ``stApp``'s script state, [performance.now(), state], in window.__vaeStates
_STATE_LOG = """() => {
    if (window.__vaeStates) return;
    window.__vaeStates = [];
    const app = document.querySelector('[data-testid="stApp"]');
    const note = () => window.__vaeStates.push(
        [performance.now(), app.getAttribute('data-test-script-state')]);
    new MutationObserver(note).observe(app, {attributes: true,
        attributeFilter: ['data-test-script-state']});
    note();
}"""


def log_script_states(page) -> None:
    """From now on the tab records its script-state changes in ``window.__vaeStates`` (times in
    the tab's own clock, so reading them later adds no polling delay). Once per page."""
    page.evaluate(_STATE_LOG)


def received_bytes(page) -> list[int]:
    """A list that grows by the size of every websocket frame the tab receives from now on."""
    received: list[int] = []

    def on_ws(ws):
        ws.on("framereceived", lambda payload: received.append(len(payload)))

    page.on("websocket", on_ws)
    return received


EXPLORER = "nl_explorer"  # the Non-local page's explorer key


def explorer_probe(page, key: str = EXPLORER) -> dict:
    """What the explorer keeps in ``window.__vaeExplorer[key]``: hover draw times (ms), frame
    times, draws, the render counter Python sent, the grid, the drawn cell, the pins it shows."""
    return page.evaluate(
        """(key) => { const p = window.__vaeExplorer[key];
            return { hoverMs: p.hoverMs.slice(), frameMs: p.frameMs.slice(), draws: p.draws,
                     render: p.render, calls: p.calls, lite: p.lite, grid: p.grid,
                     drawn: p.drawn, pins: p.pins, signature: p.signature() }; }""",
        key,
    )


def wait_explorer(page, key: str = EXPLORER, timeout: int = SLOW) -> None:
    """Wait until the explorer has been drawn (its probe exists) and scroll it into view."""
    page.wait_for_function(
        "(key) => window.__vaeExplorer && window.__vaeExplorer[key] && window.__vaeExplorer[key].root",
        arg=key,
        timeout=timeout,
    )
    page.locator(".vae-explorer canvas.over").first.scroll_into_view_if_needed()
    page.wait_for_timeout(200)


def cell_point(page, row: int, col: int, key: str = EXPLORER) -> tuple[float, float]:
    """Viewport coordinates of a cell's centre on the explorer (for ``page.mouse``)."""
    x, y = page.evaluate("([k, r, c]) => window.__vaeExplorer[k].cellCentre(r, c)", [key, row, col])
    return x, y


def clear_pins(page, waits: Waits = TEST_WAITS) -> None:
    """One click on the explorer's Clear button; wait until Python shows no query."""
    page.locator(".vae-explorer button.clear").click()
    page.get_by_text("Queries: none").wait_for(timeout=waits.timeout_ms)
    settle(page, waits)


def photo_png(seed: int | None = None, size=(451, 300), noise: int = 0) -> bytes:
    """scikit-image's chelsea, or (with ``seed``) a smooth random picture unique to that seed,
    with noise in [0, ``noise``) added per pixel (a picture that compresses like a photo)."""
    import numpy as np
    from PIL import Image

    if seed is None:
        from skimage import data

        img = Image.fromarray(data.chelsea())
    else:
        rng = np.random.default_rng(seed)
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize(size, Image.BICUBIC)
        if noise:
            grain = rng.integers(0, noise, (size[1], size[0], 3), dtype=np.uint8)
            # uint8 + uint8 wraps before the clip: the benches' pictures always have; kept so
            # their runs stay comparable
            img = Image.fromarray(np.clip(np.asarray(img) + grain, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
