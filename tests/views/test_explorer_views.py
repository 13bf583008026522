"""The explorer payloads each page sends, built from one Analysis."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from tiny_backbone import _build, tiny_image

from viz import views
from viz.analysis.forward import analyse, nl_grids, nl_layers


@pytest.fixture(scope="module")
def analysis():
    return analyse(_build("cpu"), tiny_image(), "h")


def test_payloads_of_every_mode(analysis):
    layer = nl_layers(analysis)[0]
    (h, w), (kh, kw) = nl_grids(analysis.records[layer])
    nl = views.nonlocal_explorer(analysis, layer, opacity=0.4)
    assert nl["grid"] == [h, w] and nl["keys"] == [kh, kw] and nl["opacity"] == 0.4
    assert nl["id"] == views.explorer_id(analysis, "queries", layer)
    a2 = next(p for p, r in analysis.records.items() if r.kind == "a2")
    assert views.a2_explorer(analysis, a2)["mode"] == "a2"
    maps = views.spatial_explorers(analysis)
    assert {analysis.records[m.path].kind for m in maps} == {"gc", "cbam", "bam"}
    assert len({m.payload["id"] for m in maps}) == len(maps)  # one browser state each
    strips = views.channel_explorer(analysis)
    assert len(strips["labels"]) == 5


def test_the_whole_picture_is_drawn_when_the_analysis_carries_it(analysis):
    """``display`` / ``view_box`` are optional Analysis fields: used when present."""
    wide = copy.copy(analysis)
    wide.display = np.zeros((300, 600, 3), dtype=np.uint8)
    wide.view_box = (150.0, 0.0, 450.0, 300.0)
    layer = nl_layers(analysis)[0]
    p = views.nonlocal_explorer(wide, layer)
    assert (p["iw"], p["ih"]) == (600, 300) and p["box"] == [150.0, 0.0, 450.0, 300.0]
    crop_only = copy.copy(analysis)
    crop_only.display, crop_only.view_box = None, None  # an Analysis made before the fields
    plain = views.nonlocal_explorer(crop_only, layer)
    assert plain["box"] == [
        0.0,
        0.0,
        float(analysis.image.shape[1]),
        float(analysis.image.shape[0]),
    ]


def test_pins_use_the_exact_rows(analysis):
    layer = nl_layers(analysis)[0]
    att = analysis.records[layer].tensors["attention"]
    (h, w), _ = nl_grids(analysis.records[layer])
    s = views.nonlocal_pins(analysis, layer, [(0, 0), (h - 1, w - 1)])
    np.testing.assert_array_equal(s.rows, att[[0, h * w - 1]])
    assert list(views.pins_frame(s).index) == [1, 2]
    assert views.nonlocal_pins_npz(analysis, layer, s)[:2] == b"PK"
