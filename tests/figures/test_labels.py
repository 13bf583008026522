"""Every page's figures, built from a real Analysis (the tiny backbone on a non-square picture),
carry a title, axis titles and, wherever colour encodes a value, a colour bar whose title names
the unit; maps are drawn over the user's picture with the model's crop outlined."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from tiny_backbone import _build, tiny_image

from viz import views
from viz.analysis.forward import Analysis, analyse, nl_layers

COLOURED = (go.Heatmap,)


@pytest.fixture(scope="module")
def analysis():
    return analyse(_build("cpu"), tiny_image(size=80), "labels")


@pytest.fixture(scope="module")
def page_figures(analysis):
    return _page_figures(analysis)


def _page_figures(an) -> dict[str, go.Figure]:
    """Every figure each page's view builds for ``an`` (named page: figure)."""
    out = {"home: prediction": views.prediction_figure(an, top=5)}
    channel = views.channel_view(an, sort=True, top_k=8)
    out.update({f"channel: bars {b.path}": b.figure for b in channel.bars})
    out["channel: heatmap"] = channel.heatmap
    compare = views.channel_compare_view({"a": an, "b": an})
    out.update({f"channel: compare {b.path}": b.figure for b in compare})
    out.update({f"spatial: {o.path} {o.label}": o.figure for o in views.spatial_view(an).overlays})
    layer = nl_layers(an)[0]
    nl = views.nonlocal_view(an, layer, [(0, 0), (2, 3)])
    out.update(
        {"steps: query grid": views.gcnet_step(0, an, layer).figures[0], "nonlocal: maps": nl.maps}
    )
    out.update({"nonlocal: overlay": nl.overlay, "nonlocal: mean": nl.mean})
    a2_path = next(p for p, r in an.records.items() if r.kind == "a2")
    a2 = views.a2_view(an, a2_path, position=(1, 1))
    out.update({"a2: gather": a2.gather, "a2: distribute": a2.distribute})
    out["a2: position"] = a2.position
    if a2.descriptors is not None:
        out["a2: descriptors"] = a2.descriptors
    qi, _, _ = views.query_independence_view(an, grid=3, gc=an)
    out.update({"qi: table1": qi.table1, "qi: gc vs nl": qi.gc_vs_nl})
    for i, layer_figs in enumerate(qi.layers):
        out[f"qi: maps {i}"] = layer_figs.maps
        out[f"qi: distance {i}"] = layer_figs.distance
    dnl_path = next(p for p, r in an.records.items() if "unary" in r.tensors)
    dnl, _, _ = views.dnl_view(an, dnl_path, [(0, 0), (1, 2)])
    out["qi: dnl"] = dnl
    cmp = views.compare_view({"test/tiny_all": an})
    out["compare: spatial"] = cmp.spatial
    if cmp.channel is not None:
        out["compare: channel"] = cmp.channel
    training, *_ = views.training_view()
    out.update({"qi: emergence": training.emergence, "qi: guard": training.guard})
    curves = views.zoo_training_curves("zoo/se")
    if curves is not None:
        out["home: training curves"] = curves
    rng = np.random.default_rng(0)
    attributions = {"Grad-CAM": rng.random((8, 8)), "Integrated Gradients": rng.random((64, 64))}
    out["attribution: maps"] = views.attribution_view(an, attributions)[0]
    return out


def _axis_titles(fig: go.Figure, letter: str) -> list[str]:
    layout = fig.to_plotly_json()["layout"]
    names = [k for k in layout if k.startswith(f"{letter}axis")]
    return [str(layout[k].get("title", {}).get("text") or "") for k in names]


def _colour_bar_titles(fig: go.Figure) -> list[str]:
    """Titles of the colour bars the figure shows (per trace, or of its shared colour axes)."""
    layout = fig.to_plotly_json()["layout"]
    titles = []
    for trace in fig.data:
        if not isinstance(trace, COLOURED) or trace.showscale is False:
            continue
        if trace.coloraxis:
            axis = layout.get(trace.coloraxis, {})
            titles.append(str(axis.get("colorbar", {}).get("title", {}).get("text") or ""))
        elif (trace.opacity is None or trace.opacity > 0) or trace.colorbar is not None:
            titles.append(str((trace.colorbar.title.text if trace.colorbar else "") or ""))
    return titles


def test_every_page_figure_is_titled_and_labelled(page_figures):
    figs = page_figures
    assert len(figs) > 25
    missing = []
    for name, fig in figs.items():
        assert isinstance(fig, go.Figure), name
        if not (fig.layout.title.text or "").strip():
            missing.append((name, "title"))
        for letter in "xy":
            titles = _axis_titles(fig, letter)
            if not any(t.strip() for t in titles):
                missing.append((name, f"{letter} axis title"))
        bars = _colour_bar_titles(fig)
        if any(not t.strip() for t in bars):
            missing.append((name, f"colour bar title {bars}"))
    assert not missing, missing


@pytest.mark.parametrize(
    "prefix, fragment, unit",
    [
        ("spatial:", "context", "softmax weight"),
        ("spatial:", "spatial gate Ms", "gate value (0–1)"),
        ("nonlocal: mean", "", "attention weight"),
        ("a2: gather", "", "mass × N"),
        ("qi: distance", "", "(1 − cos)/2"),
        ("home: prediction", "", None),
    ],
)
def test_colour_bars_name_their_units(page_figures, prefix, fragment, unit):
    name = next(k for k in page_figures if k.startswith(prefix) and fragment in k)
    bars = _colour_bar_titles(page_figures[name])
    if unit is None:
        assert bars == [], name
    else:
        assert any(unit in t for t in bars), (name, bars)


def test_maps_are_drawn_on_the_users_picture(analysis):
    """The tiny backbone crops 80×90 to its central 80×80: overlays span the whole picture, the
    map covers the crop box only, and the box is outlined."""
    assert analysis.display.shape == (80, 90, 3)
    x0, y0, x1, y1 = analysis.view_box
    assert (y0, y1) == (0.0, 80.0) and x1 - x0 == pytest.approx(80.0) and 0 < x0 < 10
    mean = views.nonlocal_view(analysis, nl_layers(analysis)[0], []).mean
    assert list(mean.layout.xaxis.range) == [-0.5, 89.5]
    heat = next(t for t in mean.data if isinstance(t, go.Heatmap))
    zh, zw = np.asarray(heat.z).shape
    assert heat.x0 - heat.dx / 2 == pytest.approx(x0 - 0.5)
    assert heat.x0 - heat.dx / 2 + heat.dx * zw == pytest.approx(x1 - 0.5)
    outline = [t for t in mean.data if getattr(t, "name", "") == "model's crop"]
    assert len(outline) == 1 and min(outline[0].x) == pytest.approx(x0 - 0.5)
    # the fallback: an analysis without the picture draws on the crop, with no outline
    old = Analysis(**{**analysis.__dict__, "display": None, "view_box": None})
    fallback = views.spatial_view(old).overlays[0].figure
    assert list(fallback.layout.xaxis.range) == [-0.5, 63.5]
    assert not [t for t in fallback.data if getattr(t, "name", "") == "model's crop"]
