"""The Streamlit app through AppTest: every page renders in the real flow (app.py's sidebar runs on
every page), with the content each page promises.

AppTest resets ``PagesManager.uses_pages_directory`` before every run; with a ``pages/`` folder
beside app.py that would execute a page file alone through Streamlit's legacy multipage path.
The pages live in ``app_pages/`` (tests/app/test_startup.py), so every AppTest run is a real
``st.navigation`` run; each page test still asserts that the sidebar exists.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from tiny_backbone import _build, register_tiny  # noqa: E402

from viz.analysis.query_reading import OUTCOMES  # noqa: E402
from viz.data.scenes import SCENE_CLASSES  # noqa: E402
from viz.ui.text import literal  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
MANIFEST = ROOT / "weights" / "manifest.json"
TIMEOUT = 240


@pytest.fixture(scope="module")
def tiny():
    return register_tiny()


def _png(size=(96, 80), seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _charts(at):
    return at.get("plotly_chart")


def _explorers(at) -> list[dict]:
    """The data of every in-browser explorer on the page (components v2: unknown to AppTest,
    so read from the element's proto), in page order."""
    import json

    return [json.loads(e.proto.json) for e in at.get("bidi_component")]


def _assert_real_flow(at, backbone: str):
    """The entry script ran: its sidebar picker holds the chosen backbone, and no exception."""
    assert not at.exception, [e.value for e in at.exception]
    picker = at.sidebar.selectbox(key="backbone")
    assert picker.value == backbone
    assert at.sidebar.file_uploader, "sidebar uploader missing: app.py did not run"


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def _start(backbone: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["backbone"] = backbone
    return at.run()


def test_every_page_with_tiny_backbone_and_upload(tiny):
    at = _start(tiny)
    _assert_real_flow(at, tiny)
    data = _png()
    at.sidebar.file_uploader[0].set_value(("scene.png", data, "image/png")).run()
    _assert_real_flow(at, tiny)
    assert f"upload: {literal('scene.png')}" in _texts(at.sidebar.caption)
    # home: prediction chart for the tiny model
    assert len(_charts(at)) == 1
    assert "test/tiny_all" in _texts(at.caption)

    # reference numbers computed outside the app, on the same bytes
    from viz import views
    from viz.analysis.forward import analyse, nl_layers, nl_statistics
    from viz.data.uploads import load_image

    ref = analyse(_build("cpu"), load_image(data), "ref")

    at.switch_page("app_pages/channel.py").run()
    _assert_real_flow(at, tiny)
    assert len(_charts(at)) == 6  # 5 channel modules + blocks x channels heatmap
    assert len(at.get("download_button")) == 2
    (strips,) = _explorers(at)  # one explorer: a strip per block with a channel gate
    assert strips["mode"] == "channels" and len(strips["labels"]) == 5
    gates = {p: views.channel_gates(r) for p, r in ref.records.items() if "channel" in r.tensors}
    for label, sent in zip(strips["labels"], strips["gates"]):
        path = label.split(" (")[0]
        np.testing.assert_allclose(sent, gates[path], rtol=1e-5, atol=1e-6)

    at.switch_page("app_pages/spatial.py").run()
    _assert_real_flow(at, tiny)
    maps = _explorers(at)  # GC context, CBAM spatial, BAM spatial + BAM gate: one explorer each
    assert [m["mode"] for m in maps] == ["map"] * 4
    assert not _charts(at)
    assert opacity_slider_value(at, "spatial_opacity") == 0.5

    at.switch_page("app_pages/nonlocal.py").run()
    _assert_real_flow(at, tiny)
    layer_picker = at.selectbox(key="nl_layer")
    assert len(layer_picker.options) == 4
    first = nl_layers(ref)[0]
    stats = nl_statistics(ref.records[first])
    metrics = {m.label: m.value for m in at.metric}
    assert not any(v.startswith("-0.0") and float(v) == 0 for v in metrics.values()), metrics
    assert metrics["attention distance"] == views.fmt(stats["cos_att"])
    assert metrics["input distance"] == views.fmt(stats["cos_input"])
    assert len(_charts(at)) == 1  # the mean map; the pinned maps are drawn by the explorer
    (nl,) = _explorers(at)
    assert nl["mode"] == "queries" and nl["id"].endswith(first) and len(nl["pins"]) == 3
    # add a query by row/column (a click does the same through the explorer's pin log)
    at.number_input(key="nl_row").set_value(7)
    at.number_input(key="nl_col").set_value(1)
    at.button(key="nl_add").click().run()
    _assert_real_flow(at, tiny)
    assert "(7, 1)" in _texts(at.caption)
    assert [7, 1] in _explorers(at)[0]["pins"]  # the explorer is told about it
    pins_table = next(m.value for m in at.markdown if m.value.startswith("| pin |"))
    assert pins_table.count("\n") == 2 + 4 - 1  # header, rule, one statistics row per pin
    at.toggle(key="nl_figures").set_value(True).run()
    assert len(_charts(at)) == 3  # + the pinned maps side by side and overlaid (export)
    at.button(key="nl_clear").click().run()
    assert "Queries: none" in _texts(at.caption)
    assert not any(m.value.startswith("| pin |") for m in at.markdown)

    at.switch_page("app_pages/double_attention.py").run()
    _assert_real_flow(at, tiny)
    assert "m = 4, n = 4, N = 8×8 = 64" in _texts(at.markdown)
    assert len(_charts(at)) == 4  # position, gather, distribute, descriptors
    assert [e["mode"] for e in _explorers(at)] == ["a2"]

    at.switch_page("app_pages/query_independence.py").run()
    _assert_real_flow(at, tiny)
    reading = _texts(at.caption)
    _, frame, text = views.query_independence_view(ref, grid=4)
    if not MANIFEST.exists():
        assert text in reading  # only the tiny model's four NL forms were measured
    assert "Attention rows differ by" in reading
    # the three-outcome reading of the page's model, and of every run beside it
    assert "Reading on your photo" in _texts(at.markdown)
    readings = next(d.value for d in at.dataframe if "reading" in getattr(d.value, "columns", []))
    assert set(readings["reading"]) <= set(OUTCOMES) and len(readings) >= 1
    table = at.table[0].value  # a static table: its numbers are page text
    coco = table.xs("GCNet COCO", level="source")["att"]
    assert coco["Gaussian"] == pytest.approx(0.177) and coco["Embedded Gaussian"] == 0.020
    measured = table.xs("this image", level="source")["att"]
    assert measured["Dot product"] == pytest.approx(
        frame.set_index("form").loc["dot_product", "att"], rel=1e-5
    )
    # the open section only (the query grid, drawn in the browser): the other sections, the
    # Table-1 bars among them, are lazy tabs, not run or sent until opened; no plotly at all
    assert [t.label for t in at.tabs][:4] == [
        "Query maps",
        "Epoch by epoch",
        "What makes it",
        "Table 1 chart",
    ]
    assert _charts(at) == [] or {c.key for c in _charts(at)} == set()
    grids = [e for e in _explorers(at) if e["mode"] == "query_grid"]
    assert len(grids) == 1 and grids[0]["k"] == 4
    # the page's first layer is the tiny model's first Non-local layer: the same distances
    want = views.qi_query_grid(*views.nl_runs_layers(ref)[0])
    assert grids[0]["grids"]["3"]["distance"] == pytest.approx(
        want["grids"]["3"]["distance"], abs=1e-6
    )
    assert sorted(grids[0]["grids"]) == ["2", "3", "4", "5", "6"]
    assert "unary term explains" not in _texts(at.markdown)
    assert len(at.selectbox(key="qi_layer").options) >= 4
    # the plotly versions on request, with their own sliders
    at.toggle(key="qi_figures").set_value(True).run()
    assert {c.key for c in _charts(at)} == {"qi_maps", "qi_distance"}
    at.slider(key="qi_grid").set_value(3).run()
    _assert_real_flow(at, tiny)
    maps = next(c for c in _charts(at) if "Attention maps of 9 queries" in c.proto.spec)
    assert maps is not None
    at.toggle(key="qi_figures").set_value(False).run()
    # the DNL split of the picked layer (the tiny model's first NL layer has unary/pairwise)
    at.session_state["qi_section"] = "Why: the DNL split"
    at.run()
    _assert_real_flow(at, tiny)
    assert "unary term explains" in _texts(at.markdown)
    assert {c.key for c in _charts(at)} == {"qi_dnl"}
    at.session_state["qi_section"] = "Query maps"
    at.run()

    at.switch_page("app_pages/attribution.py").run()
    _assert_real_flow(at, tiny)
    assert len(_charts(at)) == 1
    corr = at.dataframe[0].value
    assert set(corr["map A"]) <= {"gradcam", "integrated_gradients"} and len(corr) >= 2
    # a column with gaps is shown as text ("–" for missing, see views.styled)
    finite = pd.to_numeric(corr["pearson r"], errors="coerce").dropna()
    assert len(finite) >= 1 and finite.between(-1, 1).all()


def opacity_slider_value(at, key):
    return at.slider(key=key).value


def test_bad_upload_shows_error_then_good_upload_works(tiny):
    at = _start(tiny)
    at.sidebar.file_uploader[0].set_value(("notes.png", b"definitely not an image", "image/png"))
    at.run()
    _assert_real_flow(at, tiny)
    errors = _texts(at.error)
    assert "notes.png" in errors and "not an image" in errors
    at.sidebar.file_uploader[0].set_value(("good.png", _png(seed=5), "image/png")).run()
    _assert_real_flow(at, tiny)
    assert not at.error
    assert len(_charts(at)) == 1  # the home page's prediction for the new image


def test_missing_weights_warns_and_app_keeps_working(tiny):
    from viz.errors import WeightsUnavailable
    from viz.weights.registry import register
    from viz.weights.spec import BackboneSpec

    def _no_weights(device):
        raise WeightsUnavailable("fetch tests-only-weights.bin into weights/")

    register(
        BackboneSpec("test/missing", "test", "TEST ONLY missing", _no_weights, {"kinds": ["se"]})
    )
    at = _start("test/missing")
    _assert_real_flow(at, "test/missing")
    assert "fetch tests-only-weights.bin" in _texts(at.warning)
    at.switch_page("app_pages/channel.py").run()
    _assert_real_flow(at, "test/missing")
    # the page says why the preferred backbone is not shown and shows one that loads instead
    assert "fetch tests-only-weights.bin" in _texts(at.caption)
    assert at.selectbox(key="page_backbone:channel").value != "test/missing"
    assert len(_charts(at)) >= 1
    # switching back to a working model from the same session works
    at.sidebar.selectbox(key="backbone").set_value(tiny).run()
    _assert_real_flow(at, tiny)
    assert len(_charts(at)) == 6


def test_page_without_module_shows_one_that_has_it(tiny):
    """A preferred backbone without Non-local: the page says so and shows the best NL backbone."""
    import torch
    from torch import nn

    from viz.attention import create_attention
    from viz.weights.registry import register
    from viz.weights.spec import Backbone, BackboneSpec

    def _build_se(device):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 8, 8, stride=8),
            create_attention("se", 8, reduction=2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(8, 3),
        )
        base = _build(device)  # reuse the tiny preprocessing
        meta = {"kinds": ["se"], "task": "multiclass", "classes": ["a", "b", "c"]}
        return Backbone(
            "test/app_se_only", model.eval(), base.preprocess, meta, base.device, base.prepare
        )

    register(BackboneSpec("test/app_se_only", "test", "TEST ONLY SE", _build_se, {"kinds": ["se"]}))
    at = _start("test/app_se_only")
    at.switch_page("app_pages/nonlocal.py").run()
    _assert_real_flow(at, "test/app_se_only")
    assert "has no" not in _texts(at.info) + _texts(at.caption)
    assert "does not carry a Non-local block" in _texts(at.caption)
    picker = at.selectbox(key="page_backbone:nonlocal")
    assert "test/app_se_only" not in picker.options
    # the best loadable Non-local model here: held-out mAP among the trained ones
    from viz.attention import NL_KINDS
    from viz.weights.choice import candidates_for

    best = next(c.name for c in candidates_for(NL_KINDS) if c.present)
    assert picker.value == (best if MANIFEST.exists() else tiny)
    # the page drew for the NL model: its explorer and the mean map
    assert [e["mode"] for e in _explorers(at)] == ["queries"] and len(_charts(at)) == 1


@pytest.mark.skipif(not MANIFEST.exists(), reason="zoo weights absent: weights/manifest.json")
def test_zoo_defaults_sample_and_headline_pages():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _assert_real_flow(at, "zoo/nl_embedded_gaussian")
    keys = [c.key for c in _charts(at)]
    assert len(keys) == 2 and "home_training_curves" in keys  # prediction + training curves
    prediction = next(c for c in _charts(at) if c.key != "home_training_curves")
    assert f"Top {len(SCENE_CLASSES)} classes" in prediction.proto.spec  # every zoo class
    at.switch_page("app_pages/query_independence.py").run()
    _assert_real_flow(at, "zoo/nl_embedded_gaussian")
    table = at.table[0].value
    sources = set(table.index.get_level_values("source"))
    assert {"this image", "zoo (held-out)", "GCNet COCO", "GCNet Kinetics"} <= sources
    # the page leads with the GCNet recipe when it is here, the counter-example beside it; Table 1
    # has a row for every form the page ran (the page's model and its recipe's other forms)
    page_model = at.selectbox(key="page_backbone:query_independence").value
    from viz import views
    from viz.analysis.paper import NL_FORM_TITLES
    from viz.attention import nl_form
    from viz.weights.registry import backbone_info, list_backbones

    ran = views.sibling_models(page_model, list_backbones("zoo"))
    want = {NL_FORM_TITLES[nl_form(backbone_info(n).meta["kinds"][0])] for n in ran}
    assert set(table.index.get_level_values("form")) == want and "Embedded Gaussian" in want
    assert "Attention rows differ by" in _texts(at.caption)

    if "gcnet-recipe/nl_embedded_gaussian" in list_backbones():
        assert page_model == "gcnet-recipe/nl_embedded_gaussian"
    else:
        assert page_model == "zoo/nl_embedded_gaussian"
    # every lazy section runs when opened: the training curves, both regimes and the computed
    # reading come from the manifest
    seen = {}
    for section in [t.label for t in at.tabs]:
        at.session_state["qi_section"] = section
        at.run()
        assert not at.exception, section
        seen[section] = {c.key for c in _charts(at)}
        if section == "GC vs Non-local":
            assert "Pearson correlation of the two maps" in _texts(at.caption)
    assert seen["Query maps"] == set()  # the query grid component (plotly on request)
    assert seen["Table 1 chart"] == {"qi_table1"}
    assert seen["Why: the DNL split"] == {"qi_dnl"}
    assert seen["GC vs Non-local"] == {"qi_gc"}
    assert seen["Per layer"] == set()
    assert seen["What makes it"] == {"qi_ablation"}
    assert seen["Epoch by epoch"] == {"qi_recipe_curves"}  # + two query grids (browser)
    at.session_state["qi_section"] = "In training"
    at.run()
    assert {c.key for c in _charts(at)} == {"qi_emergence", "qi_guard"}
    assert "E-Gaussian: att" in _texts(at.info)
    regimes = next(d.value for d in at.dataframe if "data" in getattr(d.value, "columns", []))
    assert set(regimes["data"]) == {"fresh scenes every epoch", "small fixed pool"}
    at.switch_page("app_pages/compare.py").run()
    _assert_real_flow(at, "zoo/nl_embedded_gaussian")
    assert len(_charts(at)) >= 1 and not at.warning


def test_sidebar_outlines_each_backbones_own_crop():
    """A 256 -> 224 ImageNet preset sees less than the central square: the sidebar says which
    region, from the backbone's own pipeline, before the model is loaded (or even loadable)."""
    from viz.errors import WeightsUnavailable
    from viz.weights.registry import register
    from viz.weights.spec import BackboneSpec
    from viz.weights.transforms import crop_box, imagenet_pipeline

    def _no_weights(device):
        raise WeightsUnavailable("tests: no weights")

    geometry = lambda: imagenet_pipeline(224, 256)[0]  # noqa: E731
    register(
        BackboneSpec(
            "test/imagenet_crop", "test", "TEST ONLY 256->224", _no_weights, {}, geometry=geometry
        )
    )
    at = _start("test/imagenet_crop")
    _assert_real_flow(at, "test/imagenet_crop")
    from viz.ui.state import IMAGE_KEY

    chosen = at.session_state[IMAGE_KEY]
    width, height = chosen[1].size
    x0, y0, x1, y1 = crop_box(geometry(), width, height)
    left = round(x0)
    expected = f"the {round(x1 - x0)}×{round(y1 - y0)} region of this {width}×{height} image"
    captions = _texts(at.sidebar.caption)
    assert expected in captions and f"(x {left}–" in captions, captions
    assert round(x1 - x0) < min(width, height)  # not the central square
