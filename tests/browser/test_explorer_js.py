"""The explorer's JavaScript alone in Chromium (no server): a downsampled payload and the
whole-picture geometry, which the zoo's 14×14 models on the app never exercise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viz.figures.explorer_payload import MAX_CELLS, queries_payload
from viz.figures.web_assets import EXPLORER_CSS, EXPLORER_JS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

_MOUNT = """async ([js, css, data]) => {
    const url = URL.createObjectURL(new Blob([js], { type: "text/javascript" }));
    const mod = await import(url);
    const host = document.createElement("div");
    document.body.appendChild(host);
    const shadow = host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = css;
    shadow.appendChild(style);
    window.__sent = [];
    const setStateValue = (name, value) => window.__sent.push([name, value]);
    window.__render = (d) => mod.default({ parentElement: shadow, data: d, setStateValue });
    window.__render(data);
    await new Promise((r) => setTimeout(r, 300));  // the JPEG decodes
}"""


def _data(payload: dict, **extra) -> dict:
    return {**payload, "key": "k", "token": "t", "pins": [], "log_id": None, "applied": 0,
            "render": 1, **extra}  # fmt: skip


@pytest.fixture()
def bare(browser):
    context = browser.new_context(viewport={"width": 900, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content("<html><body></body></html>")
    yield page, errors
    context.close()


def _softmax(n, k, seed=0):
    e = np.exp(np.random.default_rng(seed).normal(size=(n, k)) * 2)
    return e / e.sum(axis=1, keepdims=True)


def test_downsampled_rows_hover_and_pin_in_original_coordinates(bare):
    page, errors = bare
    img = np.zeros((224, 224, 3), dtype=np.uint8)
    payload = queries_payload(img, _softmax(28 * 28, 28 * 28), (28, 28), (28, 28), payload_id="p")
    assert (
        payload["grid"][0] * payload["grid"][1] * payload["keys"][0] * payload["keys"][1]
        <= MAX_CELLS
    )
    page.evaluate(_MOUNT, [EXPLORER_JS, EXPLORER_CSS, _data(payload)])
    gh, gw = payload["grid"]
    x, y = page.evaluate("() => window.__vaeExplorer.k.cellCentre(2, 3)")
    page.mouse.move(x, y)
    drawn = page.evaluate("() => window.__vaeExplorer.k.drawn")
    assert drawn == [payload["qrows"][2], payload["qcols"][3]]  # the query the row stands for
    page.mouse.click(x, y)
    name, value = page.evaluate("() => window.__sent.at(-1)")
    assert name == "pins" and value["entries"] == [["pin", *drawn, "t"]] and value["have"] == "p"
    assert page.locator(".thumb").count() == 1
    note = page.locator(".note").inner_text()
    assert "784" in note and f"{gh}×{gw}" in note  # the page says what was coarsened
    # the colour bar: the LUT drawn left to right (dark to bright) with its meaning
    legend = page.locator(".legend")
    assert "attention weight" in legend.inner_text()
    ends = page.locator(".legend canvas").evaluate(
        """(canvas) => { const c = canvas.getContext('2d');
            const px = (x) => Array.from(c.getImageData(x, 0, 1, 1).data.slice(0, 3));
            return [px(0), px(255)]; }"""
    )
    assert sum(ends[0]) < sum(ends[1])  # viridis: dark purple -> bright yellow
    assert errors == []


def test_whole_picture_geometry_and_light_renders(bare):
    page, errors = bare
    display = np.full((300, 600, 3), 200, dtype=np.uint8)
    payload = queries_payload(
        np.zeros((64, 64, 3), np.uint8), _softmax(16, 16), (4, 4), (4, 4), payload_id="g",
        display=display, view_box=(150, 0, 450, 300),
    )  # fmt: skip
    page.evaluate(_MOUNT, [EXPLORER_JS, EXPLORER_CSS, _data(payload)])
    canvas = page.locator("canvas.over").bounding_box()
    assert abs(canvas["width"] / canvas["height"] - 2.0) < 0.02  # the picture's own aspect
    page.mouse.move(canvas["x"] + 10, canvas["y"] + 10)  # outside the model's square: nothing
    assert page.evaluate("() => window.__vaeExplorer.k.draws") == 0
    # the grid's 4 columns span the middle half of the picture
    x0, _ = page.evaluate("() => window.__vaeExplorer.k.cellCentre(0, 0)")
    x3, _ = page.evaluate("() => window.__vaeExplorer.k.cellCentre(0, 3)")
    left = canvas["x"] + canvas["width"] * 0.25
    assert (
        abs(x0 - (left + canvas["width"] / 16)) < 2 and abs(x3 - x0 - canvas["width"] * 3 / 8) < 2
    )
    page.mouse.move(x3, canvas["y"] + canvas["height"] * 0.9)
    assert page.evaluate("() => window.__vaeExplorer.k.drawn") == [3, 3]
    # a light render (rows left out) keeps the decoded payload; pins Python applied are shown
    light = {
        k: payload[k] for k in ("mode", "id", "opacity", "max_pins", "pinnable", "grid", "full")
    }
    page.evaluate(
        "(d) => window.__render(d)", _data({**light, "lite": True}, pins=[[1, 2]], render=2)
    )
    assert page.evaluate("() => window.__vaeExplorer.k.pins") == [[1, 2]]
    assert page.evaluate("() => window.__sent.length") == 0  # nothing asked again
    # a light render for a payload this page does not hold asks for it once
    page.evaluate("(d) => window.__render(d)", _data({**light, "id": "other", "lite": True}))
    sent = page.evaluate("() => window.__sent")
    assert [s[0] for s in sent] == ["need"] and sent[0][1]["id"] == "other"
    assert errors == [], errors
    json.dumps(payload)
