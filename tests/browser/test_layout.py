"""Layout as a person sees it: on the All-modules page no two pieces of the grid's text (figure
title, panel titles, axis titles, colour bar title) overlap, no panel title covers a picture, and
the downloads (plotly's PNG button, the tensors' .npz, the CSV) are on the pages."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from _browser_helpers import upload
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness.browser import SLOW, photo_png, settle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

# Every text plotly draws in the figure's info layer that a person reads as a label.
_TEXT_BOXES = """(title) => {
    const plots = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')];
    const plot = plots.find(p => JSON.stringify(p.layout.title || '').includes(title));
    if (!plot) return {missing: plots.map(p => JSON.stringify(p.layout.title || ''))};
    const box = el => { const r = el.getBoundingClientRect();
        return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; };
    const selectors = ['text.gtitle', 'text.annotation-text',
        '.infolayer g[class$="title"] > text', '.cbtitle text'];
    const elements = new Set(selectors.flatMap(sel => [...plot.querySelectorAll(sel)]));
    return {
        texts: [...elements]
            .filter(el => el.textContent.trim() && el.getBoundingClientRect().width > 0)
            .map(el => ({text: el.textContent.trim(), ...box(el)})),
        images: [...plot.querySelectorAll('.cartesianlayer image, .imagelayer image')]
            .map(box).filter(b => b.x1 > b.x0),
    };
}"""


def _overlap(a: dict, b: dict, slack: float = 1.0) -> float:
    """Area (px²) shared by two boxes, each shrunk by ``slack`` px (touching is not overlapping)."""
    w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) - 2 * slack
    h = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) - 2 * slack
    return max(w, 0.0) * max(h, 0.0)


def _goto(page, label: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for(timeout=SLOW)
    settle(page)


@pytest.mark.parametrize(
    "width, picture", [(1100, (720, 477)), (1500, (720, 477)), (1100, (400, 640))]
)
def test_all_modules_grid_text_never_overlaps(
    server_url, browser, artifacts, tmp_path, width, picture
):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        photo = tmp_path / "wide.png"
        photo.write_bytes(photo_png(seed=5, size=picture))
        page.goto(server_url)
        page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
        settle(page)
        upload(page, photo)
        settle(page)
        _goto(page, "All modules", "All modules, one image")
        page.get_by_text("Where each module looks").wait_for(timeout=SLOW)
        settle(page)
        found = page.evaluate(_TEXT_BOXES, "Every module on one image")
        shot = artifacts / f"layout_compare_{width}_{picture[0]}x{picture[1]}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert "missing" not in found, found
        texts, images = found["texts"], found["images"]
        titles = [t for t in texts if ":" in t["text"] and "channel-only" not in t["text"]]
        assert len(titles) >= 12, [t["text"] for t in texts]  # one title per zoo model
        assert any(t["text"].startswith("x (") for t in texts), "no x-axis title"
        assert any(t["text"].startswith("relative value") for t in texts), "no colour bar title"
        assert len(images) >= 12
        clashes = [
            (a["text"], b["text"], round(_overlap(a, b)))
            for i, a in enumerate(texts)
            for b in texts[i + 1 :]
            if _overlap(a, b) > 0
        ]
        assert not clashes, clashes
        covered = [(t["text"], round(_overlap(t, im))) for t in titles for im in images]
        assert not [c for c in covered if c[1] > 0], [c for c in covered if c[1] > 0]
        # the CSV stays, and plotly's PNG button is on the chart
        page.get_by_test_id("stDownloadButton").get_by_text("Predictions (CSV)").wait_for()
        assert page.locator('.modebar-btn[data-title^="Download plot as a PNG"]').count() >= 1
    finally:
        context.close()


def test_overlays_sit_on_the_picture_and_downloads_stay(server_url, page, artifacts, tmp_path):
    """The Non-local page's mean map is drawn over the whole 720×477 picture (the plot is wider
    than tall) and its .npz carries the picture and the crop box."""
    photo = tmp_path / "wide.png"
    photo.write_bytes(photo_png(seed=6, size=(720, 477)))
    page.goto(server_url)
    page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
    settle(page)
    upload(page, photo)
    settle(page)
    home = page.get_by_text("The model saw this 477×477 region of your 720×477 picture")
    home.first.wait_for(timeout=SLOW)
    _goto(page, "Non-local queries", "Non-local queries")
    extent = page.evaluate(
        """() => {
            const plots = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')];
            const plot = plots.find(p => JSON.stringify(p.layout.title || '').includes('mean over all'));
            return plot ? plot.layout.xaxis.range.concat(plot.layout.yaxis.range) : null;
        }"""
    )
    assert extent is not None, "no mean-map overlay on the Non-local page"
    assert extent[1] - extent[0] == pytest.approx(720 * 640 / 720)  # display: 640 px wide
    assert extent[2] - extent[3] == pytest.approx(round(477 * 640 / 720))
    assert page.locator('.modebar-btn[data-title^="Download plot as a PNG"]').count() >= 1
    page.get_by_test_id("stDownloadButton").get_by_text("Statistics (CSV)", exact=True).wait_for()
    # a deferred download is registered by the run that drew its button: click once no run is
    # pending (the explorer may ask for its rows once after the page is drawn)
    page.wait_for_timeout(1000)
    settle(page)
    button = page.get_by_test_id("stDownloadButton").get_by_text("Captured tensors (.npz)")
    try:
        with page.expect_download(timeout=60_000) as info:
            button.click()
    except PlaywrightTimeout:
        # Seen twice in full browser-suite runs on a long-lived server, never in this file alone:
        # the click on a deferred download went unanswered. Recorded (README, known issues) and
        # retried once; a second miss fails the test.
        page.screenshot(path=str(artifacts / "layout_download_missed.png"), full_page=True)
        warnings.warn("deferred .npz download: first click unanswered, retried", stacklevel=1)
        settle(page)
        with page.expect_download(timeout=SLOW) as info:
            button.click()
    data = np.load(io.BytesIO(open(info.value.path(), "rb").read()))
    assert data["display"].shape == (round(477 * 640 / 720), 640, 3)
    page.screenshot(path=str(artifacts / "layout_nonlocal.png"), full_page=True)
