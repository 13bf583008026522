"""The product as a person uses it: upload a photo, pin queries on the Non-local page's explorer;
a screenshot of every page is kept as an artifact (artifacts/browser/)."""

from __future__ import annotations

import re

import pytest
from _browser_helpers import upload, wait_queries

from harness.browser import (
    QI_HEADING,
    SLOW,
    cell_point,
    clear_pins,
    photo_png,
    settle,
    wait_explorer,
)
from viz.data.uploads import image_hash

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

PAGES = [  # (navigation label, page heading, screenshot name)
    ("Home", "Visual Attention Explorer", "home"),
    ("Channel gates", "Channel gates", "channel"),
    ("Spatial maps", "Spatial maps", "spatial"),
    ("Non-local queries", "Non-local queries", "nonlocal"),
    ("Double attention (A²)", "Double attention (A²)", "double_attention"),
    ("Query independence", QI_HEADING, "query_independence"),
    ("GCNet in five steps", "GCNet in five steps", "gcnet_steps"),
    ("Attribution", "Attribution vs attention", "attribution"),
    ("All modules", "All modules, one image", "compare"),
]


def _goto(page, label: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for(timeout=SLOW)
    settle(page)


def test_upload_then_pin_queries_on_the_nonlocal_page(server_url, page, artifacts, tmp_path):
    """An uploaded photo reaches the explorer, and two clicks pin two queries in click order."""
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

    _goto(page, "Non-local queries", "Non-local queries")
    wait_explorer(page)
    page.wait_for_function(  # the explorer shows this upload's rows (its id names the image)
        "(h) => (window.__vaeExplorer.nl_explorer.id || '').includes(h)",
        arg=f":{image_hash(photo.read_bytes())}:",
        timeout=SLOW,
    )
    clear_pins(page)
    side = page.evaluate("() => window.__vaeExplorer.nl_explorer.grid[0]")
    first = (side // 4, side // 4)
    page.mouse.click(*cell_point(page, *first))
    assert wait_queries(page, 1) == [first]
    second = (3 * side // 4, 3 * side // 4)
    page.mouse.click(*cell_point(page, *second))
    assert wait_queries(page, 2) == [first, second]
    settle(page)
    page.screenshot(path=str(artifacts / "nonlocal.png"), full_page=True)


def test_every_page_renders_in_the_browser(server_url, page, artifacts):
    page.goto(server_url)
    page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
    settle(page)
    for label, heading, slug in PAGES:
        _goto(page, label, heading)
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"{label}: {errors.first.inner_text()}"
        page.screenshot(path=str(artifacts / f"page_{slug}.png"), full_page=True)
