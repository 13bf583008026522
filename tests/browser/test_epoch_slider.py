"""The epoch slider in Chromium: the GCNet recipe and the shipped recipe after each epoch, on an
uploaded photo. Moving the slider redraws both recipes' query maps and the numbers beside them.

The server serves a family trained here in seconds (``python -m viz train --gcnet --smoke`` on
scenes the test writes, through ``$VAE_GCNET_DIR``), so the test holds whatever the shipped
``weights/gcnet`` contains."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _browser_helpers import SERVER_ENV, upload
from scene_fixtures import write_scene_table

from harness.browser import SLOW, photo_png, settle
from harness.server import ROOT, serve_app
from viz.data.uploads import image_hash

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

GRIDS = (
    "() => [0, 1].map((i) => window.__vaeQueryGrid && window.__vaeQueryGrid['qi_epoch_grid_' + i])"
)


@pytest.fixture(scope="module")
def smoke_server(tmp_path_factory, artifacts):
    root = tmp_path_factory.mktemp("family")
    write_scene_table(root / "data")
    out = root / "gcnet"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "viz",
            "train",
            "--gcnet",
            "--smoke",
            "--workers",
            "1",
            "--out",
            str(out),
            "--scene-table",
            str(root / "data" / "table.json"),
        ],
        cwd=ROOT,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        timeout=600,
    )
    env = {**SERVER_ENV, "VAE_GCNET_DIR": str(out)}
    with serve_app(log=artifacts / "streamlit_epochs.log", env=env) as server:
        yield server.url


def _grids(page) -> list:
    return page.evaluate(
        f"""() => ({GRIDS})().map((g) => g ? {{id: g.id, draws: g.draws,
            signature: g.signature()}} : null)"""
    )


def test_moving_the_epoch_slider_redraws_both_recipes(smoke_server, page, tmp_path, artifacts):
    photo = tmp_path / "epochs.png"
    photo.write_bytes(photo_png(seed=11))
    page.goto(smoke_server + "/query_independence")
    page.get_by_test_id("stSidebar").wait_for(timeout=SLOW)
    settle(page)
    upload(page, photo)
    settle(page)
    digest = image_hash(photo.read_bytes())
    main = page.get_by_test_id("stMain")
    main.get_by_text("Reading on your photo", exact=False).first.wait_for(timeout=SLOW)
    page.get_by_role("tab", name="Epoch by epoch").click()
    page.wait_for_function(
        f"(h) => ({GRIDS})().every((g) => g && g.draws > 0 && (g.id || '').includes(h))",
        arg=digest,
        timeout=SLOW,
    )
    settle(page)
    table = main.locator("[data-testid='stTable']").last
    before_grids, before_table = _grids(page), table.inner_text()
    assert "gcnet-recipe/nl_embedded_gaussian" in before_table
    assert "shipped-recipe/nl_embedded_gaussian" in before_table
    assert "after epoch 1" in main.inner_text()
    slider = main.get_by_role("slider").last
    slider.focus()
    page.keyboard.press("ArrowLeft")  # epoch 1 -> epoch 0
    main.get_by_text("after epoch 0", exact=False).first.wait_for(timeout=SLOW)
    page.wait_for_function(
        "(old) => { const g = (" + GRIDS + ")(); return g.every((x, i) => x && x.id !== old[i]); }",
        arg=[g["id"] for g in before_grids],
        timeout=SLOW,
    )
    settle(page)
    after_grids, after_table = _grids(page), table.inner_text()
    page.screenshot(path=str(artifacts / "epoch_slider.png"), full_page=True)
    for old, new in zip(before_grids, after_grids):
        assert new["id"] != old["id"] and new["signature"] != old["signature"]
    assert after_table != before_table  # the numbers follow the epoch
