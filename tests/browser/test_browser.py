"""The product as a person uses it: upload a photo, click queries on the Non-local page, see a new
map per query; a screenshot of every page is kept as an artifact (artifacts/browser/)."""

from __future__ import annotations

import io
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

PAGES = [  # (navigation label, page heading, screenshot name)
    ("Home", "Visual Attention Explorer", "home"),
    ("Channel gates", "Channel gates", "channel"),
    ("Spatial maps", "Spatial maps", "spatial"),
    ("Non-local queries", "Non-local queries", "nonlocal"),
    ("Double attention (A²)", "Double attention (A²)", "double_attention"),
    ("Query independence", "Query independence — GCNet reproduced live", "query_independence"),
    ("Attribution", "Attribution vs attention", "attribution"),
    ("All modules", "All modules, one image", "compare"),
]
SLOW = 180_000  # ms: first model load and capture on a busy 2-core machine


def _photo_png() -> bytes:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.chelsea()).save(buf, format="PNG")
    return buf.getvalue()


def _settle(page, timeout: int = SLOW) -> None:
    """Wait until Streamlit has finished the current run (``stApp``'s script state)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'",
        timeout=timeout,
    )
    page.wait_for_timeout(500)  # let plotly finish drawing


def _goto(page, label: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for(timeout=SLOW)
    _settle(page)


def _queries_caption(page) -> str:
    return page.get_by_text(re.compile(r"^Queries: ")).first.inner_text()


def _plot_traces(page, index: int) -> list[dict]:
    """Type and subplot axes of every trace of the index-th plotly chart in the main area."""
    return page.evaluate(
        """(i) => {
            const plots = document.querySelectorAll('section.main .js-plotly-plot, '
                + '[data-testid="stMain"] .js-plotly-plot');
            const gd = plots[i];
            return gd.data.map(t => ({type: t.type, xaxis: t.xaxis || 'x', name: t.name || ''}));
        }""",
        index,
    )


def _click_cell(page, fx: float, fy: float) -> None:
    """Click at a fraction of the click-grid chart's plotting area (the first chart of the page)."""
    chart = page.locator('[data-testid="stMain"] .js-plotly-plot').first
    drag = chart.locator(".nsewdrag").first
    box = drag.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def test_upload_then_click_queries_on_the_nonlocal_page(server_url, page, artifacts, tmp_path):
    photo = tmp_path / "chelsea.png"
    photo.write_bytes(_photo_png())

    page.goto(server_url)
    page.get_by_text(re.compile(r"^Image — sample: ")).wait_for(timeout=SLOW)  # sidebar complete
    _settle(page)
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.wait_for(state="attached", timeout=SLOW)
    uploader.set_input_files(str(photo))
    try:
        page.get_by_text(re.compile(r"upload: chelsea\.png")).first.wait_for(timeout=SLOW)
    finally:
        page.screenshot(path=str(artifacts / "after_upload.png"), full_page=True)
    _settle(page)

    _goto(page, "Non-local queries", "Non-local queries")
    page.get_by_role("button", name="Clear queries").click()
    page.get_by_text("Queries: none").wait_for(timeout=SLOW)
    _settle(page)

    _click_cell(page, 0.25, 0.3)
    page.wait_for_function(
        "() => [...document.querySelectorAll('p')].some(p => /^Queries: \\(\\d+, \\d+\\)$/"
        ".test(p.innerText))",
        timeout=SLOW,
    )
    _settle(page)
    first = _queries_caption(page)
    _click_cell(page, 0.75, 0.7)
    page.wait_for_function(
        "() => [...document.querySelectorAll('p')].some(p => /^Queries: \\(\\d+, \\d+\\), "
        "\\(\\d+, \\d+\\)$/.test(p.innerText))",
        timeout=SLOW,
    )
    _settle(page)
    second = _queries_caption(page)
    assert second.startswith(first + ", "), (first, second)

    # the per-query figure (second chart) now holds one heat map per query
    heatmaps = [t for t in _plot_traces(page, 1) if t["type"] == "heatmap"]
    assert len({t["xaxis"] for t in heatmaps}) == 2, heatmaps
    page.screenshot(path=str(artifacts / "nonlocal.png"), full_page=True)


def test_every_page_renders_in_the_browser(server_url, page, artifacts):
    page.goto(server_url)
    page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
    _settle(page)
    for label, heading, slug in PAGES:
        _goto(page, label, heading)
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"{label}: {errors.first.inner_text()}"
        page.screenshot(path=str(artifacts / f"page_{slug}.png"), full_page=True)
