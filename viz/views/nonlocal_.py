"""The Non-local page from an :class:`~viz.analysis.forward.Analysis`: each query's attention map
over the photo, and the map averaged over every query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from viz import figures
from viz.analysis.forward import Analysis, nl_grids
from viz.capture.recorder import Record
from viz.views.common import picture
from viz.views.spatial import map_units, spatial_maps


def _query_rows(record: Record, queries: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    (h, w), (kh, kw) = nl_grids(record)
    att = record.tensors["attention"]
    return [att[r * w + c].reshape(kh, kw) for r, c in queries]


# Figures are sent at the size they are drawn: panels are composited JPEGs, overlays carry the photo
# at <= 512 px and the heat map at <= 64 px (the browser smooths it), not 768 px / 256 px floats.
OVERLAY_PHOTO_SIDE = 512


OVERLAY_HEAT_SIDE = 64


PANEL_SIDE = 160


def nl_mean_map(record: Record) -> np.ndarray:
    """The attention row averaged over every query, on the key grid."""
    return spatial_maps(record)["mean attention row (all queries)"]


def _light_overlay(pic, heat, opacity, title, units) -> go.Figure:
    return figures.spatial_overlay(
        pic,
        heat,
        opacity=opacity,
        title=title,
        max_side=OVERLAY_PHOTO_SIDE,
        heat_side=OVERLAY_HEAT_SIDE,
        colorbar_title=units,
    )


@dataclass(frozen=True)
class NonlocalFigures:
    """The Non-local page's figures (queries are picked in the in-browser explorer,
    :mod:`viz.ui.explorer`): ``maps`` (one composited panel per query, side by side) and
    ``overlay`` (all queries' maps averaged over the image, queries marked) are ``None`` while no
    query is chosen; ``mean`` (the map averaged over every query) is always there."""

    maps: go.Figure | None
    overlay: go.Figure | None
    mean: go.Figure


def nonlocal_view(
    analysis: Analysis,
    layer: str,
    queries: Sequence[tuple[int, int]],
    opacity: float = 0.6,
) -> NonlocalFigures:
    """Each query's attention map over the image, and the map averaged over every query.

    Queries outside the layer's grid are dropped.
    """
    rec = analysis.records[layer]
    (h, w), _ = nl_grids(rec)
    queries = [(int(r), int(c)) for r, c in queries if 0 <= r < h and 0 <= c < w]
    mean = nl_mean_map(rec)
    pic, units = picture(analysis), map_units(rec.kind)
    maps_fig = overlay = None
    if queries:
        maps = _query_rows(rec, queries)
        maps_fig = figures.composited_query_maps(
            pic,
            figures.QueryPanels(maps, queries, (h, w), opacity=opacity),  # titled "query (r, c)"
            side=PANEL_SIDE,
        )
        overlay = _light_overlay(
            pic,
            np.mean(maps, axis=0),
            opacity,
            f"{len(queries)} queries overlaid (mean of their maps)",
            units,
        )
        centres = [pic.point(r, c, (h, w)) for r, c in queries]
        overlay.add_trace(
            go.Scatter(
                x=[x for x, _ in centres],
                y=[y for _, y in centres],
                mode="markers+text",
                text=[f"({r},{c})" for r, c in queries],
                textposition="top center",
                marker=dict(symbol="x", size=12, color="red", line=dict(width=2, color="white")),
                name="queries",
                showlegend=False,
            )
        )
    mean_fig = _light_overlay(pic, mean, opacity, f"{layer}: mean over all {h * w} queries", units)
    return NonlocalFigures(maps=maps_fig, overlay=overlay, mean=mean_fig)
