"""The Query-independence page's query grid in Chromium: the grid size and the opacity move in
the browser with no script run, the panels follow the grid's queries, and hovering the matrix
reads out the exact distance Python computed."""

from __future__ import annotations

import pytest
from _browser_helpers import upload

from harness.browser import SLOW, photo_png, settle
from viz.data.uploads import image_hash

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

GRID = "() => window.__vaeQueryGrid && window.__vaeQueryGrid.qi_query_grid"


def _probe(page) -> dict:
    return page.evaluate(
        f"""() => {{ const g = ({GRID})(); return g ? {{k: g.k, opacity: g.opacity, draws: g.draws,
            id: g.id, queries: g.queries, signature: g.signature(),
            grids: g.payload.grids}} : null; }}"""
    )


def _script_runs(page) -> int:
    return page.evaluate("() => window.__qgRuns.length")


def test_grid_moves_in_the_browser_and_reads_exact_distances(server_url, page, tmp_path):
    photo = tmp_path / "grid.png"
    photo.write_bytes(photo_png(seed=7))
    page.goto(server_url + "/query_independence")
    page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
    settle(page)
    upload(page, photo)
    settle(page)
    digest = image_hash(photo.read_bytes())
    page.wait_for_function(
        f"(h) => {{ const g = ({GRID})(); return g && g.draws > 0 && (g.id || '').includes(h); }}",
        arg=digest,
        timeout=SLOW,
    )
    # Table 1 is page text (a static table), the paper's numbers beside the measured ones
    main = page.get_by_test_id("stMain").inner_text()
    assert "GCNet COCO" in main and "this image" in main
    page.evaluate(
        """() => { window.__qgRuns = [];
            const app = document.querySelector('[data-testid="stApp"]');
            new MutationObserver(() => { if (app.getAttribute('data-test-script-state')
                === 'running') window.__qgRuns.push(performance.now()); })
            .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
    )
    before = _probe(page)
    assert before["k"] == 4 and len(before["queries"]) == 16
    k_input = page.locator(".vae-qgrid input[type=range]").nth(0)
    k_input.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => ({GRID})().k === 3", timeout=5000)
    after = _probe(page)
    assert len(after["queries"]) == 9 and after["draws"] > before["draws"]
    assert after["queries"] == after["grids"]["3"]["queries"]
    assert after["signature"] != before["signature"]
    opacity = page.locator(".vae-qgrid input[type=range]").nth(1)
    opacity.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => ({GRID})().opacity > 0.6", timeout=5000)
    assert _probe(page)["signature"] != after["signature"]
    page.wait_for_timeout(300)
    assert _script_runs(page) == 0  # neither move ran the script

    # hover the matrix cell (row 1, column 2): the readout names both queries and their distance
    box = page.locator(".vae-qgrid canvas.matrix").bounding_box()
    n = 9
    page.mouse.move(box["x"] + (2.5 / n) * box["width"], box["y"] + (1.5 / n) * box["height"])
    readout = page.locator(".vae-qgrid .readout")
    want = after["grids"]["3"]["distance"][1 * n + 2]
    q1, q2 = after["queries"][1], after["queries"][2]
    text = readout.inner_text()
    assert f"({q1[0]}, {q1[1]}) and ({q2[0]}, {q2[1]})" in text, text
    shown = float(text.rsplit("=", 1)[1])
    assert shown == pytest.approx(want, abs=5e-4 + 1e-3 * abs(want)), (text, want)
    assert _script_runs(page) == 0
