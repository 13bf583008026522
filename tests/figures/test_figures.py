"""Figure builders: shapes, trace types, ranges, coordinates, Table-1 frame."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from viz import figures as F
from viz.analysis.paper import GCNET_TABLE1

RNG = np.random.default_rng(0)
IMG = (RNG.random((30, 45, 3)) * 255).astype(np.uint8)  # non-square, H=30, W=45


def _traces(fig, cls):
    return [t for t in fig.data if isinstance(t, cls)]


def _serialises(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


def _z(trace) -> np.ndarray:
    return np.asarray(trace.z, dtype=float)


def _coords(trace) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of a heatmap's columns and rows (x0/dx form)."""
    z = _z(trace)
    xs = trace.x0 + trace.dx * np.arange(z.shape[1])
    ys = trace.y0 + trace.dy * np.arange(z.shape[0])
    return xs, ys


# ---------------------------------------------------------------- coordinates


def _cell_of(x: float, y: float, grid_hw, image_hw) -> tuple[int, int]:
    """The grid cell whose pixel extent holds (x, y): cell c spans [c·W/w − ½, (c+1)·W/w − ½)."""
    (gh, gw), (ih, iw) = grid_hw, image_hw
    rows = np.arange(1, gh) * ih / gh - 0.5
    cols = np.arange(1, gw) * iw / gw - 0.5
    return int(np.searchsorted(rows, y, side="right")), int(np.searchsorted(cols, x, side="right"))


@pytest.mark.parametrize(
    "grid_hw, image_hw",
    [
        ((7, 7), (224, 224)),
        ((5, 7), (30, 45)),
        ((14, 9), (300, 451)),
        ((3, 4), (3, 4)),
        ((1, 1), (10, 17)),
        ((12, 5), (7, 11)),
    ],
)
def test_cell_center_lies_in_its_cell(grid_hw, image_hw):
    gh, gw = grid_hw
    ih, iw = image_hw
    for r in range(gh):
        for c in range(gw):
            x, y = F.cell_center(r, c, grid_hw, image_hw)
            assert -0.5 <= x <= iw - 0.5 and -0.5 <= y <= ih - 0.5
            assert _cell_of(x, y, grid_hw, image_hw) == (r, c)
            # the very middle of the cell's extent
            assert x == pytest.approx((c + 0.5) * iw / gw - 0.5)
            assert y == pytest.approx((r + 0.5) * ih / gh - 0.5)


def test_cell_center_clamps_and_rejects_bad_grids():
    assert F.cell_center(-2, 99, (5, 7), (30, 45)) == F.cell_center(0, 6, (5, 7), (30, 45))
    assert F.cell_center(0, 0, (5, 7), (30, 45)) == pytest.approx((45 / 14 - 0.5, 3 - 0.5))
    with pytest.raises(ValueError, match="positive"):
        F.cell_center(0, 0, (0, 7), (30, 45))


def test_resize_bilinear_matches_half_pixel_convention():
    a = np.arange(4.0).reshape(1, 4)
    up = F.resize_bilinear(a, (1, 8))
    # half-pixel centres: outputs at source positions -0.25, 0.25, 0.75, ... clamped to the ends
    assert np.allclose(up, [[0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]])
    b = RNG.random((3, 5))
    assert np.allclose(F.resize_bilinear(b, (3, 5)), b)
    big = F.resize_bilinear(b, (30, 50))
    assert big.shape == (30, 50)
    assert big.min() >= b.min() - 1e-12 and big.max() <= b.max() + 1e-12
    # integer factor: block means are preserved up to the clamped border
    assert np.allclose(F.resize_bilinear(np.full((2, 2), 7.0), (9, 5)), 7.0)


# ---------------------------------------------------------------- channel figures


def test_channel_bars_sort_topk_and_ranges():
    g = np.array([0.1, 0.9, 0.5, 0.95, 0.2])
    fig = F.channel_bars(g, "SE", sort=True, top_k=3)
    bar = _traces(fig, go.Bar)[0]
    assert list(bar.x) == ["ch 3", "ch 1", "ch 2"]
    assert np.allclose(bar.y, [0.95, 0.9, 0.5])
    assert [cd[0] for cd in bar.customdata] == [3, 1, 2]
    assert "channel" in bar.hovertemplate
    assert tuple(fig.layout.yaxis.range) == (0, 1.02)
    unsorted = _traces(F.channel_bars(g, top_k=2), go.Bar)[0]
    assert list(unsorted.x) == ["ch 1", "ch 3"]  # strongest two, channel order
    full = _traces(F.channel_bars(g), go.Bar)[0]
    assert list(full.x) == [0, 1, 2, 3, 4]
    logits = F.channel_bars(np.array([-2.0, 3.0, 0.5]), labels=["a", "b", "c"])
    assert logits.layout.yaxis.range is None
    assert [cd[1] for cd in _traces(logits, go.Bar)[0].customdata] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="labels"):
        F.channel_bars(g, labels=["x"])
    with pytest.raises(ValueError, match="1-D"):
        F.channel_bars(np.zeros((2, 3)))
    _serialises(fig)


def test_channel_heatmap_pads_with_nan():
    fig = F.channel_heatmap({"layer1": RNG.random(4), "layer2": RNG.random(8)})
    hm = _traces(fig, go.Heatmap)[0]
    z = _z(hm)
    assert z.shape == (2, 8)
    assert np.isnan(z[0, 4:]).all() and np.isfinite(z[1]).all()
    assert list(hm.y) == ["layer1", "layer2"]
    assert (hm.zmin, hm.zmax) == (0.0, 1.0)
    with pytest.raises(ValueError, match="no blocks"):
        F.channel_heatmap({})
    _serialises(fig)


def test_channel_compare_correlation_and_topk():
    a = RNG.random(20)
    fig = F.channel_compare(
        {"cat": a, "cat again": a * 0.5 + 0.1, "noise": RNG.random(20)}, top_k=5
    )
    bars = _traces(fig, go.Bar)
    assert len(bars) == 3 and all(len(b.x) == 5 for b in bars)
    # x order: strongest mean first
    means = [np.mean([b.y[i] for b in bars]) for i in range(5)]
    assert means == sorted(means, reverse=True)
    text = fig.layout.annotations[0].text
    assert "cat–cat again 1.000" in text
    corr = F.pairwise_correlation({"a": a, "b": -a})
    assert corr[0, 1] == pytest.approx(-1.0)
    lines = F.channel_compare({"x": RNG.random(100), "y": RNG.random(100)})
    assert len(_traces(lines, go.Scatter)) == 2
    with pytest.raises(ValueError, match="different channel counts"):
        F.channel_compare({"a": np.ones(3), "b": np.ones(4)})
    _serialises(fig)


# ---------------------------------------------------------------- spatial overlays


def test_spatial_overlay_upsamples_to_image_and_aligns():
    heat = np.zeros((5, 9))
    heat[1, 2] = 1.0
    fig = F.spatial_overlay(IMG, heat, opacity=0.4, title="GC")
    assert isinstance(fig.data[0], go.Image) and isinstance(fig.data[1], go.Heatmap)
    hm = fig.data[1]
    z = _z(hm)
    assert z.shape == IMG.shape[:2]  # small image: one heat pixel per image pixel
    assert hm.opacity == 0.4 and hm.colorbar is not None
    xs, ys = _coords(hm)
    assert np.allclose(xs, np.arange(45)) and np.allclose(ys, np.arange(30))
    # the peak stays in the hot cell's pixels
    r, c = np.unravel_index(np.argmax(z), z.shape)
    assert _cell_of(xs[c], ys[r], (5, 9), (30, 45)) == (1, 2)
    assert tuple(fig.layout.yaxis.range) == (29.5, -0.5)  # y down
    assert fig.layout.yaxis.scaleanchor == "x"
    img = fig.data[0]
    assert img.source.startswith("data:image/jpeg;base64,")
    # a big photo is embedded smaller and the map is capped, but both still span the whole image
    big = np.zeros((900, 1200, 3), np.uint8)
    fb = F.spatial_overlay(big, heat, max_side=300, heat_side=120)
    zb = _z(fb.data[1])
    assert max(zb.shape) == 120
    xs, ys = _coords(fb.data[1])
    assert xs[0] - fb.data[1].dx / 2 == pytest.approx(-0.5) and xs[-1] + fb.data[
        1
    ].dx / 2 == pytest.approx(1199.5)
    assert fb.data[0].dx == pytest.approx(4.0)
    with pytest.raises(ValueError, match="image"):
        F.spatial_overlay(np.zeros((4, 4, 5)), heat)
    _serialises(fig)


def test_heatmap_generic():
    v = RNG.random((3, 4))
    fig = F.heatmap(v, "t", zmin=0, zmax=1, x_title="key", y_title="query", text_fmt=".2f")
    hm = fig.data[0]
    assert np.allclose(_z(hm), v)
    assert hm.texttemplate == "%{z:.2f}"
    assert fig.layout.xaxis.title.text == "key" and fig.layout.yaxis.autorange == "reversed"
    _serialises(fig)


def test_query_maps_markers_in_query_cells_and_keys_aligned():
    grid = (6, 9)
    queries = [(0, 0), (2, 5), (5, 8)]
    key_map = np.zeros((3, 3))  # keys sub-sampled 2x / 3x
    key_map[2, 2] = 1.0
    maps = [key_map, RNG.random((3, 3)), RNG.random((6, 9))]
    fig = F.query_maps(IMG, F.QueryPanels(maps, queries, grid, cols=2))
    heats = _traces(fig, go.Heatmap)
    assert len(heats) == 3 and len(_traces(fig, go.Image)) == 3
    assert all(h.coloraxis == "coloraxis" for h in heats)
    assert fig.layout.coloraxis.colorbar is not None
    markers = _traces(fig, go.Scatter)
    for q, m in zip(queries, markers):
        assert _cell_of(m.x[0], m.y[0], grid, IMG.shape[:2]) == q
    # the sub-sampled key map covers the image: its hot key cell lands at the bottom-right ninth
    z = _z(heats[0])
    xs, ys = _coords(heats[0])
    assert z.shape == (30, 45)
    r, c = np.unravel_index(np.argmax(z), z.shape)
    assert _cell_of(xs[c], ys[r], (3, 3), IMG.shape[:2]) == (2, 2)
    # subplots: 2 columns, 2 rows; every y axis reversed and equal aspect
    assert fig.layout.height > 400
    assert fig.layout.yaxis3.range == (29.5, -0.5) and fig.layout.yaxis3.scaleanchor == "x3"
    # no image: maps drawn on the query grid's extent, one brick per key cell
    bare = F.query_maps(None, F.QueryPanels(maps, queries, grid))
    assert _z(_traces(bare, go.Heatmap)[0]).shape == (3, 3)
    assert _traces(bare, go.Heatmap)[0].dx == pytest.approx(3.0)
    with pytest.raises(ValueError, match="2 maps for 3 queries"):
        F.QueryPanels(maps[:2], queries, grid)
    with pytest.raises(ValueError, match="needs its query"):
        F.query_maps(IMG, F.QueryPanels(maps, None, grid))
    _serialises(fig)


def test_query_panels_are_checked_once_for_both_builders():
    grid = (6, 9)
    rng = np.random.default_rng(1)  # its own: the module's RNG stream stays as other tests had it
    maps = [rng.random((1, 3, 3)), rng.random((6, 9))]  # a leading batch axis is dropped
    panels = F.QueryPanels(maps, [(0, 0), (5, 8)], grid, cols=2)
    assert [m.shape for m in panels.maps] == [(3, 3), (6, 9)]
    assert panels.titles == ("query (0, 0)", "query (5, 8)") and panels.cells == ((0, 0), (5, 8))
    assert panels.key_grids() == "query grid 6×9, key grid 3×3, 6×9"
    with pytest.raises(ValueError, match="no maps"):
        F.QueryPanels([], [], grid)
    with pytest.raises(ValueError, match="1 titles for 2 maps"):
        F.QueryPanels(maps, None, grid, titles=["one"])
    with pytest.raises(ValueError, match="expected a non-empty 2-D array"):
        F.QueryPanels([np.zeros(4)], [(0, 0)], grid)

    fig = F.composited_query_maps(IMG, panels, side=64)
    assert [a.text for a in fig.layout.annotations] == list(panels.titles)
    assert fig.layout.meta["queries"] == [[0, 0], [5, 8]]
    assert len(_traces(fig, go.Scatter)[0].x) == 2  # one marker per query
    assert panels.key_grids() in fig.layout.title.text
    # plain panels: no markers, the given titles, each map min-max scaled to [0, 1]
    plain = F.QueryPanels(maps, None, grid, titles=["a", "b"])
    fig = F.composited_query_maps(IMG, plain, title="two maps", normalize=True)
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]
    assert fig.layout.meta["queries"] == [] and len(_traces(fig, go.Scatter)[0].x) == 0
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert fig.layout.title.text == "two maps"
    _serialises(fig)


def test_click_grid_figure_targets():
    grid = (5, 7)
    fig = F.click_grid_figure(IMG, grid, queries=[(1, 2), (4, 6)], heat=RNG.random((5, 7)))
    cells = next(t for t in fig.data if t.name == "cells")
    chosen = next(t for t in fig.data if t.name == "queries")
    assert len(cells.x) == 35
    assert cells.marker.opacity < 0.05
    for x, y, cd in zip(cells.x, cells.y, cells.customdata):
        assert _cell_of(x, y, grid, IMG.shape[:2]) == (int(cd[0]), int(cd[1]))
    assert [tuple(cd) for cd in chosen.customdata] == [(1, 2), (4, 6)]
    for x, y, cd in zip(chosen.x, chosen.y, chosen.customdata):
        assert _cell_of(x, y, grid, IMG.shape[:2]) == tuple(cd)
    assert chosen.marker.symbol == "x"
    assert fig.layout.clickmode == "event+select"
    assert fig.layout.dragmode == "pan" and fig.layout.hovermode == "closest"
    assert fig.layout.uirevision is not None
    assert any(isinstance(t, go.Heatmap) for t in fig.data)
    plain = F.click_grid_figure(IMG, (14, 14))
    assert len(next(t for t in plain.data if t.name == "cells").x) == 196
    assert len(next(t for t in plain.data if t.name == "queries").x) == 0
    _serialises(fig)
    _serialises(plain)


# ---------------------------------------------------------------- A²


def test_a2_argmax_entropy_hand_made():
    n, h, w = 4, 2, 2
    d = np.zeros((n, h, w))
    d[2, 0, 0] = 1.0  # one-hot: entropy 0
    d[:, 0, 1] = 0.25  # uniform: entropy 1
    d[:, 1, 0] = [0.5, 0.5, 0, 0]  # two-way: log 2 / log 4 = 0.5
    d[:, 1, 1] = [0.1, 0.2, 0.3, 0.4]
    am, ent = F.a2_argmax_entropy(d)
    assert am[0, 0] == 2 and am[1, 1] == 3
    expected = -sum(p * math.log(p) for p in (0.1, 0.2, 0.3, 0.4)) / math.log(4)
    assert ent == pytest.approx(np.array([[0.0, 1.0], [0.5, expected]]))
    fig = F.a2_distribute_maps(d)
    hms = _traces(fig, go.Heatmap)
    assert len(hms) == 2
    assert np.array_equal(_z(hms[0]), am) and np.allclose(_z(hms[1]), ent)
    assert fig.layout.coloraxis.cmin == -0.5 and fig.layout.coloraxis.cmax == n - 0.5
    assert fig.layout.coloraxis2.cmax == 1.0
    bars = F.a2_position_distribution(d, 1, 1)
    assert np.allclose(bars.data[0].y, [0.1, 0.2, 0.3, 0.4])
    assert "argmax 3" in bars.layout.title.text
    with pytest.raises(ValueError, match="outside"):
        F.a2_position_distribution(d, 2, 0)
    _serialises(fig)
    _serialises(bars)


def test_a2_gather_grid_order_and_limit():
    n, h, w = 6, 4, 5
    g = np.full((n, h * w), 1.0 / (h * w))
    g[3] = 0.0
    g[3, 7] = 1.0  # map 3 is the most peaked
    g[5] = np.linspace(1, 2, h * w) / np.linspace(1, 2, h * w).sum()
    g = g.reshape(n, h, w)
    fig = F.a2_gather_grid(g, max_maps=4, cols=2)
    heats = _traces(fig, go.Heatmap)
    assert len(heats) == 4
    assert heats[0].name == "map 3" and heats[1].name == "map 5"
    assert "most peaked first" in fig.layout.title.text
    # colour = mass x N: 1 for a uniform map
    assert np.allclose(_z(heats[2]), 1.0)
    ordered = F.a2_gather_grid(g, image=IMG, order="index")
    assert [t.name for t in _traces(ordered, go.Heatmap)] == [f"map {k}" for k in range(n)]
    assert len(_traces(ordered, go.Image)) == n
    assert "descriptor order" in ordered.layout.title.text
    with pytest.raises(ValueError, match="order"):
        F.a2_gather_grid(g, order="random")
    _serialises(fig)


def test_descriptor_and_distance_matrices():
    G = RNG.normal(size=(8, 3))
    fig = F.descriptor_matrix(G)
    hm = fig.data[0]
    assert _z(hm).shape == (8, 3) and hm.zmin == -hm.zmax
    d = np.array([[0.0, 0.1, 0.3], [0.1, 0.0, 0.2], [0.3, 0.2, 0.0]])
    dm = F.distance_matrix(d, ["bird", "grass", "sky"], title="att")
    hm = dm.data[0]
    assert list(hm.x) == ["bird", "grass", "sky"] and hm.texttemplate == "%{z:.3f}"
    assert hm.zmin == 0.0
    with pytest.raises(ValueError, match="labels"):
        F.distance_matrix(d, ["a"])
    with pytest.raises(ValueError, match="square"):
        F.distance_matrix(np.zeros((2, 3)), ["a", "b"])
    _serialises(fig)
    _serialises(dm)


# ---------------------------------------------------------------- Table 1


MEASURED = {
    "gaussian": {"cos_input": 0.31, "cos_output": 0.07, "cos_att": 0.21, "jsd_att": 0.05},
    "dot_product": {"cos_input": 0.29, "cos_output": 0.02, "cos_att": 0.03, "jsd_att": None},
}
ZOO = {"gaussian": {"input": 0.33, "output": 0.08, "att": 0.11, "jsd": 0.04}}


def test_table1_frame_numbers():
    df = F.table1_frame(MEASURED, ZOO)
    assert list(df.columns) == ["input", "output", "att", "JSD"]
    assert df.index.names == ["form", "source"]
    assert df.loc[("Gaussian", F.SOURCE_MEASURED), "att"] == 0.21
    assert df.loc[("Gaussian", F.SOURCE_ZOO), "JSD"] == 0.04
    assert (
        df.loc[("Gaussian", F.SOURCE_COCO), "att"]
        == GCNET_TABLE1["COCO"]["gaussian"]["att"]
        == 0.177
    )
    assert df.loc[("Dot product", F.SOURCE_KINETICS), "att"] == 0.099
    assert df.loc[("Dot product", F.SOURCE_KINETICS), "input"] == 0.353
    assert np.isnan(df.loc[("Dot product", F.SOURCE_MEASURED), "JSD"])
    assert np.isnan(df.loc[("Dot product", F.SOURCE_COCO), "JSD"])
    assert ("Dot product", F.SOURCE_ZOO) not in df.index  # zoo had no dot product
    assert set(df.index.get_level_values("form")) == {"Gaussian", "Dot product"}
    assert len(df) == 4 + 3  # gaussian: measured, zoo, 2 papers; dot: measured + 2 papers
    csv = df.to_csv()
    assert "GCNet Kinetics" in csv and "0.177" in csv
    # nl_-prefixed keys work; nothing measured -> all four forms from the paper
    assert (
        F.table1_frame({"nl_concatenation": MEASURED["dot_product"]}).index[0][0] == "Concatenation"
    )
    assert len(F.table1_frame({})) == 8
    with pytest.raises(ValueError, match="unknown Non-local forms"):
        F.table1_frame({"cosine": {}})


def test_table1_comparison_figure():
    fig = F.table1_comparison(MEASURED, ZOO)
    bars = _traces(fig, go.Bar)
    assert len(bars) == 4 + 3  # gaussian: 4 sources; dot product: 3
    assert {b.name for b in bars} == {
        F.SOURCE_MEASURED,
        F.SOURCE_ZOO,
        F.SOURCE_COCO,
        F.SOURCE_KINETICS,
    }
    first = next(b for b in bars if b.name == F.SOURCE_MEASURED)
    assert list(first.x) == ["input", "output", "att", "JSD"]
    assert np.allclose(np.asarray(first.y, float), [0.31, 0.07, 0.21, 0.05])
    coco_dot = [b for b in bars if b.name == F.SOURCE_COCO][1]
    assert np.allclose(np.asarray(coco_dot.y, float)[:3], [0.405, 0.020, 0.015])
    assert np.isnan(np.asarray(coco_dot.y, float)[3])
    assert sum(b.showlegend for b in bars) == 4  # one legend entry per source
    assert any("n/a" in a.text for a in fig.layout.annotations)
    _serialises(fig)


# ---------------------------------------------------------------- many maps on one image


def test_attribution_and_compare_grid():
    maps = {
        "Grad-CAM": RNG.random((7, 7)),
        "IG": RNG.random((30, 45)) * 1e-3,
        "NL": RNG.random((5, 5)),
    }
    fig = F.attribution_side_by_side(IMG, maps)
    heats = _traces(fig, go.Heatmap)
    assert len(heats) == 3 and len(_traces(fig, go.Image)) == 3
    for h in heats:
        z = _z(h)
        assert z.shape == (30, 45)
        assert (
            z.min() >= -1e-6 and z.max() <= 1 + 1e-6
        )  # each map scaled to [0, 1] before upsampling
    ig = _z(heats[1])  # already at image size: exactly min-max scaled
    assert ig.min() == pytest.approx(0.0, abs=1e-6) and ig.max() == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(ig, (maps["IG"] - maps["IG"].min()) / np.ptp(maps["IG"]), atol=1e-6)
    assert [a.text for a in fig.layout.annotations][:3] == list(maps)
    grid = F.compare_grid(
        IMG, {"SE": None, "GC": RNG.random((5, 7)), "CBAM": RNG.random((5, 7))}, cols=2
    )
    assert len(_traces(grid, go.Image)) == 3 and len(_traces(grid, go.Heatmap)) == 2
    assert any("channel-only" in a.text for a in grid.layout.annotations)
    assert grid.layout.yaxis3.range == (29.5, -0.5)  # second row exists
    with pytest.raises(ValueError, match="no panels"):
        F.compare_grid(IMG, {})
    _serialises(fig)
    _serialises(grid)


def test_fmt_num_never_writes_negative_zero():
    from viz.figures.raster import fmt_num

    assert fmt_num(-0.0) == "0.000" and fmt_num(-1e-9) == "0.000" and fmt_num(-0.0004) == "0.000"
    assert fmt_num(-0.0004, 4) == "-0.0004" and fmt_num(-0.002) == "-0.002"
    assert fmt_num(None) == "–" and fmt_num(float("nan")) == "–" and fmt_num(0.12345, 2) == "0.12"


def test_distance_matrix_text_has_no_negative_zero():
    import numpy as np

    from viz.figures.query_independence import distance_matrix

    d = np.array([[-1e-9, 0.25], [0.25, -0.0]])
    fig = distance_matrix(d, ["a", "b"])
    assert (np.asarray(fig.data[0].z) >= 0).all()
