"""viz.views: every page's figures from one Analysis, Streamlit-free."""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go
import pytest
from tiny_backbone import _build, tiny_image

from viz import views
from viz.analysis.forward import analyse, nl_layers, nl_statistics, records_of_kind


@pytest.fixture(scope="module")
def analysis():
    return analyse(_build("cpu"), tiny_image(), "h")


def test_channel_view_has_bars_per_block_and_heatmap(analysis):
    figs = views.channel_view(analysis, sort=True, top_k=8)
    kinds = {analysis.records[b.path].kind for b in figs.bars}
    assert kinds == {"se", "eca", "gsop", "cbam", "bam"}
    for block in figs.bars:  # each chart is its own block's: the title names the path
        assert block.figure.layout.title.text.startswith(f"{block.path} (")
    assert isinstance(figs.heatmap, go.Figure)
    # BAM's channel branch is logits: the view shows sigma of it, inside [0, 1]
    bam = next(r for r in analysis.records.values() if r.kind == "bam")
    g = views.channel_gates(bam)
    assert g.min() >= 0 and g.max() <= 1
    assert np.allclose(g, 1 / (1 + np.exp(-bam.tensors["channel"])))


def test_spatial_view_covers_gc_cbam_bam(analysis):
    overlays = views.spatial_view(analysis, opacity=0.3).overlays
    titles = [o.figure.layout.title.text or "" for o in overlays]
    assert any("(gc)" in t for t in titles)
    assert sum(1 for t in titles if "(cbam)" in t) == 1
    assert sum(1 for t in titles if "(bam)" in t) == 2
    for o in overlays:  # path and label travel with their own figure
        title = o.figure.layout.title.text
        assert title.startswith(f"{o.path} (") and f": {o.label} " in title
    keys = [(o.path, o.label) for o in overlays]
    assert len(set(keys)) == len(keys)  # the page's chart keys are unique


def test_nonlocal_view_one_panel_per_query(analysis):
    layer = nl_layers(analysis)[1]
    figs = views.nonlocal_view(analysis, layer, [(0, 0), (3, 4), (99, 99)], opacity=0.5)
    assert all(isinstance(f, go.Figure) for f in (figs.maps, figs.overlay, figs.mean))
    titles = [a.text for a in figs.maps.layout.annotations]
    assert "query (0, 0)" in titles and "query (3, 4)" in titles
    assert not any("99" in t for t in titles)  # out-of-grid queries are dropped
    assert "2 queries overlaid" in figs.overlay.layout.title.text
    assert "mean over all" in figs.mean.layout.title.text
    none = views.nonlocal_view(analysis, layer, [])
    assert none.maps is None and none.overlay is None
    assert isinstance(none.mean, go.Figure)
    with pytest.raises(dataclasses.FrozenInstanceError):
        none.maps = figs.maps  # a bundle is a value: pages read it, never patch it


def test_query_independence_view_all_forms_and_reading(analysis):
    figs, frame, text = views.query_independence_view(analysis, grid=3)
    assert list(frame["form"]) == ["gaussian", "embedded_gaussian", "dot_product", "concatenation"]
    for row in frame.itertuples():
        rec = analysis.records[row.layer]
        assert row.att == pytest.approx(nl_statistics(rec)["cos_att"])
    assert isinstance(figs.table1, go.Figure) and figs.gc_vs_nl is None  # no GC run given
    assert [f.label for f in figs.layers] == [f"{analysis.backbone} · {p}" for p in frame["layer"]]
    for layer in figs.layers:  # 3 x 3 queries each, the distance matrix titled with its layer
        assert "Attention maps of 9 queries" in layer.maps.layout.title.text
        assert layer.distance.layout.title.text.startswith(f"{layer.label}: ")
    lean, _, lean_text = views.query_independence_view(analysis, grid=3, maps=False)
    assert lean.layers == () and isinstance(lean.table1, go.Figure) and lean_text == text
    assert f"{frame['att'].mean():.3f}" in text and f"{frame['input'].mean():.3f}" in text
    table = views.table1_table(frame, [analysis])
    coco = table.xs("GCNet COCO", level="source")["att"]
    assert coco["Gaussian"] == pytest.approx(0.177) and coco["Embedded Gaussian"] == 0.020
    mine = table.xs("this image", level="source")["att"]
    assert mine["Dot product"] == pytest.approx(frame.set_index("form").loc["dot_product", "att"])


def test_table1_sentence_states_numbers_and_leaves_the_verdict_to_the_three_outcomes():
    same = {"gaussian": {"input": 0.4, "output": 0.01, "att": 0.004, "jsd": 0.01}}
    two = {**same, "dot_product": {"input": 0.4, "output": 0.3, "att": 0.35, "jsd": None}}
    text = views.reading(same)
    assert "differ by 0.004" in text and "inputs differ by 0.400" in text
    # no verdict from att / input alone: identical uniform rows would pass that test too
    assert "query-independent" not in text and "depend on the query" not in text
    assert "Most alike across queries: gaussian" in views.reading(two)


def test_a2_view_and_explainer_shapes(analysis):
    layer = next(iter(records_of_kind(analysis, "a2")))
    figs = views.a2_view(analysis, layer, position=(2, 3))
    assert all(
        isinstance(f, go.Figure)
        for f in (figs.gather, figs.distribute, figs.position, figs.descriptors)
    )
    assert views.a2_view(analysis, layer).position is None
    text = views.module_explainer("a2", analysis.records[layer])
    # m = n = 16 / 4 = 4 on an 8x8 map: O(mn + nN) = 16 + 256 floats vs N x N = 4096
    assert "m = 4, n = 4, N = 8×8 = 64" in text and "272" in text and "4,096" in text


def test_compare_view_and_attribution_view(analysis):
    other = analyse(_build("cpu"), tiny_image(3), "h3")
    figs = views.compare_view({"a": analysis, "b": other})
    assert isinstance(figs.spatial, go.Figure) and isinstance(figs.channel, go.Figure)
    assert views.compare_view({}) == views.CompareFigures(spatial=None, channel=None)
    across = views.channel_compare_view({"a": analysis, "b": other}, top_k=8)
    assert {b.path for b in across} == {b.path for b in views.channel_view(analysis).bars}
    for b in across:
        kind = analysis.records[b.path].kind
        assert b.figure.layout.title.text == f"{b.path} ({kind}) across images"
    assert views.channel_compare_view({"a": analysis}) == ()  # one image: nothing to compare
    maps = {"gradcam": np.random.default_rng(0).random((8, 8)).astype(np.float32)}
    fig, corr = views.attribution_view(analysis, maps)
    assert isinstance(fig, go.Figure)
    assert len(corr) >= 1 and corr["pearson r"].between(-1, 1).all()


def test_training_view_is_built_once_per_manifest_and_callers_get_their_own_table():
    figs, table, reading, done = views.training_view()
    assert isinstance(figs.emergence, go.Figure) and isinstance(figs.guard, go.Figure)
    with pytest.raises(dataclasses.FrozenInstanceError):
        figs.guard = None  # shared by every run: a caller cannot swap a figure out
    table["x"] = 1
    figs2, table2, reading2, _ = views.training_view()
    assert "x" not in table2.columns and reading2 == reading
    assert figs2 is figs  # the same built bundle: not rebuilt per run


def test_streamlit_does_not_collect_garbage_after_every_run():
    from pathlib import Path

    import tomllib

    config = tomllib.loads((Path(__file__).parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False  # ~15 % of a run's CPU (issue 10)


def test_styled_writes_missing_cells_as_a_dash_not_none():
    """Streamlit's grid draws a null cell as "None" whatever the Styler formats: a column with
    gaps goes out as text ("–" for missing), the others stay numbers."""
    import pandas as pd

    from viz.views.common import styled

    frame = pd.DataFrame({"form": ["a", "b"], "att": [0.1234, -0.00001], "jsd": [0.5, None]})
    data = styled(frame).data
    assert data["jsd"].tolist() == ["0.500", "–"]
    assert data["att"].dtype.kind == "f" and data["att"].tolist() == [0.1234, -0.00001]
    assert frame["jsd"].isna().tolist() == [False, True]  # the caller's frame is not changed
