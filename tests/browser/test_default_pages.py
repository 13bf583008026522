"""No dead ends in a real browser: with the default preferred backbone, a photo uploaded as JPEG,
every page shows a figure (plotly or the explorer) and none says only "this backbone has no X" (issue 12)."""

from __future__ import annotations

import io
import re

import pytest
from _browser_helpers import assert_full_app, upload

from harness.browser import QI_HEADING, SLOW, settle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

PAGES = [  # (navigation label, page heading, has a per-page model picker)
    ("Home", "Visual Attention Explorer", False),
    ("Channel gates", "Channel gates", True),
    ("Spatial maps", "Spatial maps", True),
    ("Non-local queries", "Non-local queries", True),
    ("Double attention (A²)", "Double attention (A²)", True),
    ("Query independence", QI_HEADING, True),
    ("Attribution", "Attribution vs attention", False),
    ("All modules", "All modules, one image", False),
]


def _coffee_jpeg(path) -> None:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())


def test_every_page_shows_figures_after_an_upload_with_the_default_backbone(
    server_url, page, artifacts, tmp_path
):
    photo = tmp_path / "coffee.jpg"
    _coffee_jpeg(photo)
    page.goto(server_url)
    page.get_by_text(re.compile(r"^Image — sample: ")).wait_for(timeout=SLOW)
    settle(page)
    assert_full_app(page)
    upload(page, photo)
    settle(page)

    main = page.get_by_test_id("stMain")
    for label, heading, picker in PAGES:
        page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
        page.get_by_role("heading", name=heading).first.wait_for(timeout=SLOW)
        settle(page)
        # a plotly figure or the in-browser explorer's / query grid's canvas (in a shadow root)
        main.locator(".js-plotly-plot, .vae-explorer canvas, .vae-qgrid canvas").first.wait_for(
            timeout=SLOW
        )
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"{label}: {errors.first.inner_text()}"
        text = main.inner_text()
        assert "has no" not in text, f"{label}: {text[:400]}"
        if picker:
            assert main.get_by_text("Model for this page").count() == 1, label
        assert "upload: coffee.jpg" in page.get_by_test_id("stSidebar").inner_text()
        slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        page.screenshot(path=str(artifacts / f"default_backbone_{slug}.png"), full_page=True)
