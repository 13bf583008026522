"""Shared by the browser tests: waiting for Streamlit runs, the full-app checks, test images."""

from __future__ import annotations

import io
import re

SLOW = 180_000  # ms: first model load and capture on a busy 2-core machine
NAV_LABELS = ("Home", "Non-local queries", "Query independence")  # proper titles, not file names

_IDLE = (
    """() => document.querySelector('[data-testid="stApp"]')"""
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)


def settle(page, timeout: int = SLOW) -> None:
    """Wait until Streamlit has finished the current run (``stApp``'s script state)."""
    page.wait_for_timeout(300)
    page.wait_for_function(_IDLE, timeout=timeout)
    page.wait_for_timeout(300)  # let plotly finish drawing


def wait_connected(page, timeout: int = SLOW) -> None:
    """Wait until the tab's websocket is connected (``stApp``'s connection state). After a server
    restart the old page stays on screen while the tab reconnects; an upload sent in that window
    goes to a server that no longer knows the session and is lost."""
    page.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"]')
            ?.getAttribute('data-test-connection-state') === 'CONNECTED'""",
        timeout=timeout,
    )


def photo_png(seed: int | None = None, size=(451, 300)) -> bytes:
    """scikit-image's chelsea, or (with ``seed``) a smooth random picture unique to that seed."""
    import numpy as np
    from PIL import Image

    if seed is None:
        from skimage import data

        img = Image.fromarray(data.chelsea())
    else:
        rng = np.random.default_rng(seed)
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize(size, Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def assert_full_app(page, heading: str | None = None, timeout: int = SLOW) -> None:
    """The entry script ran for this session: sidebar with the preferred-backbone picker and the
    uploader, navigation with page titles (legacy mode shows raw file names), the page's heading,
    no exception."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stFileUploaderDropzoneInput").wait_for(
        state="attached", timeout=timeout
    )
    sidebar.get_by_text("Preferred backbone", exact=True).wait_for(timeout=timeout)
    nav = page.get_by_test_id("stSidebarNav")
    for label in NAV_LABELS:
        nav.get_by_text(label, exact=True).wait_for(timeout=timeout)
    assert nav.get_by_text(re.compile(r"^(nonlocal|query_independence|app)$")).count() == 0
    if heading:
        page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout)
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def upload(page, path, timeout: int = SLOW) -> None:
    """Upload ``path`` through the sidebar and wait until the sidebar shows it."""
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.wait_for(state="attached", timeout=timeout)
    uploader.set_input_files(str(path))
    page.get_by_text(re.compile(rf"upload: {re.escape(path.name)}")).first.wait_for(timeout=timeout)


def queries_caption(page) -> str:
    return page.get_by_text(re.compile(r"^Queries: ")).first.inner_text()


def parse_queries(caption: str) -> list[tuple[int, int]]:
    return [(int(r), int(c)) for r, c in re.findall(r"\((\d+), (\d+)\)", caption)]


EXPLORER = "nl_explorer"  # the Non-local page's explorer key


def explorer_probe(page, key: str = EXPLORER) -> dict:
    """What the explorer keeps in ``window.__vaeExplorer[key]``: hover draw times (ms), frame
    times, draws, the render counter Python sent, the drawn cell, the pins it shows."""
    return page.evaluate(
        """(key) => { const p = window.__vaeExplorer[key];
            return { hoverMs: p.hoverMs.slice(), frameMs: p.frameMs.slice(), draws: p.draws,
                     render: p.render, calls: p.calls, lite: p.lite, drawn: p.drawn, pins: p.pins,
                     signature: p.signature() }; }""",
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


def clear_pins(page) -> None:
    """One click on the explorer's Clear button; wait until Python shows no query."""
    page.locator(".vae-explorer button.clear").click()
    page.get_by_text("Queries: none").wait_for(timeout=SLOW)
    settle(page)


def wait_queries(page, n: int, timeout: int = SLOW) -> list[tuple[int, int]]:
    """Wait until the page's "Queries: ..." caption lists ``n`` queries; returns them."""
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('Queries: ')"
        " && (p.innerText.match(/\\(/g) || []).length === n)",
        arg=n,
        timeout=timeout,
    )
    return parse_queries(queries_caption(page))
