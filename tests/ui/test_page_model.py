"""The per-page model picker (viz.ui.page_model) through AppTest: with the default preferred
backbone every page shows figures, never only "this backbone has no X" (sample image and an
upload), and a choice made on a page is remembered for that page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from viz.ui.text import literal
from viz.weights.sources.gcnet import read_gcnet_manifest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 240

pytestmark = pytest.mark.skipif(
    not (ROOT / "weights" / "manifest.json").exists(),
    reason="the default backbone is a zoo model: weights/ absent",
)

# page -> the backbone it starts with under the default preferred zoo/nl_embedded_gaussian: the
# preferred one where it carries the page's module, else the zoo model with the best held-out mAP
# (weights/manifest.json: gsop 0.372 among the channel kinds, bam 0.351 among gc/cbam/bam)
MODULE_PAGES = {
    "channel": "zoo/gsop",
    "spatial": "zoo/bam",
    "nonlocal": "zoo/nl_embedded_gaussian",
    "double_attention": "zoo/a2",
    # the page leads with the GCNet recipe when it is trained here (weights/gcnet)
    "query_independence": "gcnet-recipe/nl_embedded_gaussian"
    if "gcnet_nl_embedded_gaussian" in read_gcnet_manifest()["checkpoints"]
    else "zoo/nl_embedded_gaussian",
}
OTHER_PAGES = ("home", "attribution", "compare")
TEXT_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader")


def _all_text(at) -> str:
    return "\n".join(str(e.value) for kind in TEXT_ELEMENTS for e in at.get(kind))


def _visit(at, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, (page, [e.value for e in at.exception])
    return at


def _assert_figures(at, page: str) -> None:
    text = _all_text(at)
    assert "has no" not in text, (page, text)
    assert not at.error, (page, [e.value for e in at.error])
    # a figure: a plotly chart or an in-browser explorer carrying its data (components v2)
    explorers = [e for e in at.get("bidi_component") if '"mode"' in (e.proto.json or "")]
    assert len(at.get("plotly_chart")) + len(explorers) >= 1, page


def _jpeg() -> bytes:
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_every_page_shows_figures_with_the_default_backbone():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert at.sidebar.selectbox(key="backbone").value == "zoo/nl_embedded_gaussian"
    assert at.sidebar.selectbox(key="backbone").label == "Preferred backbone"
    for page, expected in MODULE_PAGES.items():  # the sample image
        _visit(at, page)
        _assert_figures(at, page)
        assert at.selectbox(key=f"page_backbone:{page}").value == expected, page

    at.sidebar.file_uploader[0].set_value(("coffee.jpg", _jpeg(), "image/jpeg")).run()
    captions = "\n".join(str(c.value) for c in at.sidebar.caption)
    assert f"upload: {literal('coffee.jpg')}" in captions  # the name as text (viz.ui.text)
    for page in (*MODULE_PAGES, *OTHER_PAGES):
        _visit(at, page)
        _assert_figures(at, page)
        if page in MODULE_PAGES:
            picker = at.selectbox(key=f"page_backbone:{page}")
            assert picker.value == MODULE_PAGES[page], page
    # the upload, not the sample, is what the pages ran on
    assert "coffee.jpg" in "\n".join(str(c.value) for c in at.sidebar.caption)


def test_a_page_remembers_its_choice_until_the_preferred_backbone_fits_it():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _visit(at, "channel")
    picker = at.selectbox(key="page_backbone:channel")
    assert picker.value == "zoo/gsop"
    listed = [label.split(" · ")[0] for label in picker.options]  # "zoo/gsop · zoo · mAP 0.372"
    assert "zoo/nl_embedded_gaussian" not in listed  # only backbones with channel gates
    assert listed[:5] == ["zoo/gsop", "zoo/eca", "zoo/bam", "zoo/se", "zoo/cbam"]  # by mAP
    assert picker.options[0] == "zoo/gsop · zoo · mAP 0.372"
    present = [not label.endswith("· weights missing") for label in picker.options]
    assert present == sorted(present, reverse=True)  # those whose weights are missing come last
    picker.set_value("zoo/se").run()
    assert at.selectbox(key="page_backbone:channel").value == "zoo/se"
    assert "Chosen on this page" in _all_text(at)

    _visit(at, "spatial")  # another page keeps its own default
    assert at.selectbox(key="page_backbone:spatial").value == "zoo/bam"
    _visit(at, "home")
    _visit(at, "channel")  # back: the choice survived two other pages
    assert at.selectbox(key="page_backbone:channel").value == "zoo/se"
    _assert_figures(at, "channel")

    # a preferred backbone that carries the module wins over the page's earlier choice ...
    at.sidebar.selectbox(key="backbone").set_value("zoo/cbam").run()
    assert at.selectbox(key="page_backbone:channel").value == "zoo/cbam"
    _visit(at, "spatial")
    assert at.selectbox(key="page_backbone:spatial").value == "zoo/cbam"
    # ... one that does not leaves what the page showed
    at.sidebar.selectbox(key="backbone").set_value("zoo/nl_gaussian").run()
    assert at.selectbox(key="page_backbone:spatial").value == "zoo/cbam"
    _visit(at, "channel")
    assert at.selectbox(key="page_backbone:channel").value == "zoo/cbam"
    _assert_figures(at, "channel")


def test_a_chosen_backbone_without_weights_says_why_and_shows_one_that_loads(tmp_path, monkeypatch):
    for var, sub in (("VAE_WEIGHTS_DIR", "user"), ("HF_HUB_CACHE", "hf")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("VAE_OFFLINE", "1")  # no download attempt
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _visit(at, "channel")
    picker = at.selectbox(key="page_backbone:channel")
    label = next(o for o in picker.options if o.startswith("timm/seresnet33ts · "))
    assert label.endswith("· weights missing")
    picker.set_value("timm/seresnet33ts").run()
    assert not at.exception
    assert "timm/seresnet33ts: ImageNet weights are not cached here" in "\n".join(
        w.value for w in at.warning
    )
    assert "Showing **zoo/gsop** instead of **timm/seresnet33ts**" in "\n".join(
        i.value for i in at.info
    )
    assert at.selectbox(key="page_backbone:channel").value == "timm/seresnet33ts"  # as chosen
    _assert_figures(at, "channel")


def test_query_independence_keeps_the_papers_numbers_when_no_model_loads(monkeypatch):
    """Nothing that carries a Non-local block can load: the page says so and still shows
    GCNet's own Table 1, which needs no model."""
    from viz.errors import ModelUnavailable
    from viz.ui import page_model

    def unavailable(name, *_):
        raise ModelUnavailable(f"Weights for **{name}** are not available here (test).")

    monkeypatch.setattr(page_model, "get_analysis", unavailable)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _visit(at, "query_independence")
    assert "None of the backbones that carry a Non-local block can load here" in "\n".join(
        e.value for e in at.error
    )
    table = at.table[0].value
    assert {"GCNet COCO", "GCNet Kinetics"} <= set(table.index.get_level_values("source"))
    assert not at.get("plotly_chart")
