"""The product as a person uses it: upload a photo, click queries on the Non-local page, see a new
map per query; a screenshot of every page is kept as an artifact (artifacts/browser/)."""

from __future__ import annotations

import random
import re

import pytest
from _browser_helpers import (
    SLOW,
    grid_cells,
    parse_queries,
    photo_png,
    queries_caption,
    settle,
    upload,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

PAGES = [  # (navigation label, page heading, screenshot name)
    ("Home", "Visual Attention Explorer", "home"),
    ("Channel gates", "Channel gates", "channel"),
    ("Spatial maps", "Spatial maps", "spatial"),
    ("Non-local queries", "Non-local queries", "nonlocal"),
    ("Double attention (A²)", "Double attention (A²)", "double_attention"),
    ("Query independence", "Query independence — GCNet reproduced live", "query_independence"),
    ("GCNet in five steps", "GCNet in five steps", "gcnet_steps"),
    ("Attribution", "Attribution vs attention", "attribution"),
    ("All modules", "All modules, one image", "compare"),
]


def _goto(page, label: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for(timeout=SLOW)
    settle(page)


def _plot_meta(page, index: int) -> dict:
    """``layout.meta`` of the index-th plotly chart in the main area."""
    return page.evaluate(
        """(i) => {
            const plots = document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot');
            return plots[i].layout.meta || {};
        }""",
        index,
    )


def _open_nonlocal_cleared(page) -> int:
    """The Non-local page with no queries; returns the grid's side (cells per row)."""
    _goto(page, "Non-local queries", "Non-local queries")
    page.get_by_role("button", name="Clear queries").click()
    page.get_by_text("Queries: none").wait_for(timeout=SLOW)
    settle(page)
    n = grid_cells(page).count()
    side = round(n**0.5)
    assert side * side == n and side >= 4, n
    return side


def test_upload_then_click_queries_on_the_nonlocal_page(server_url, page, artifacts, tmp_path):
    photo = tmp_path / "chelsea.png"
    photo.write_bytes(photo_png())

    page.goto(server_url)
    page.get_by_text(re.compile(r"^Image — sample: ")).wait_for(timeout=SLOW)  # sidebar complete
    settle(page)
    try:
        upload(page, photo)
    finally:
        page.screenshot(path=str(artifacts / "after_upload.png"), full_page=True)
    settle(page)

    side = _open_nonlocal_cleared(page)
    grid_cells(page).nth(side // 4 * side + side // 4).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('p')].some(p => /^Queries: \\(\\d+, \\d+\\)$/"
        ".test(p.innerText))",
        timeout=SLOW,
    )
    settle(page)
    first = queries_caption(page)
    grid_cells(page).nth(3 * side // 4 * side + 3 * side // 4).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('p')].some(p => /^Queries: \\(\\d+, \\d+\\), "
        "\\(\\d+, \\d+\\)$/.test(p.innerText))",
        timeout=SLOW,
    )
    settle(page)
    second = queries_caption(page)
    assert second.startswith(first + ", "), (first, second)

    # the per-query figure (first chart) holds one panel per query, in click order
    assert [tuple(q) for q in _plot_meta(page, 0)["queries"]] == parse_queries(second)
    page.screenshot(path=str(artifacts / "nonlocal.png"), full_page=True)


def test_fast_clicks_are_all_applied_in_order(server_url, page, artifacts):
    """10 distinct cells clicked 40 ms apart: 10 queries, in click order, the last one included
    (issue 10: 20 clicks 40 ms apart used to add 1-3 queries)."""
    page.goto(server_url)
    page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
    settle(page)
    side = _open_nonlocal_cleared(page)
    picks = [divmod(i, side) for i in random.Random(0).sample(range(side * side), 10)]
    cells = grid_cells(page)
    boxes = [cells.nth(r * side + c).bounding_box() for r, c in picks]
    for box in boxes:  # raw mouse clicks 40 ms apart, no waiting for anything in between
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(40)
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('Queries: ')"
        " && (p.innerText.match(/\\(/g) || []).length >= n)",
        arg=len(picks),
        timeout=SLOW,
    )
    settle(page)
    got = parse_queries(queries_caption(page))
    page.screenshot(path=str(artifacts / "fast_clicks.png"), full_page=True)
    assert got == picks, (got, picks)


def test_every_page_renders_in_the_browser(server_url, page, artifacts):
    page.goto(server_url)
    page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
    settle(page)
    for label, heading, slug in PAGES:
        _goto(page, label, heading)
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"{label}: {errors.first.inner_text()}"
        page.screenshot(path=str(artifacts / f"page_{slug}.png"), full_page=True)
