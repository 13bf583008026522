"""The Spatial-attention page from an :class:`~viz.analysis.forward.Analysis`: every spatial map of
the GC, CBAM, BAM (and GSoP position) records, overlaid on the user's picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from viz import figures
from viz.analysis.forward import Analysis, records_of_kind
from viz.attention import SPATIAL_KINDS, mechanism
from viz.capture.recorder import Record
from viz.views.common import picture


def spatial_maps(record: Record) -> dict[str, np.ndarray]:
    """The 2-D maps a record offers, named for captions (its :class:`~viz.attention.Mechanism`
    says which tensors they are and how they become maps; all in [0, 1] except GC's softmax)."""
    return mechanism(record.kind).spatial_maps(record.tensors)


@dataclass(frozen=True)
class SpatialOverlay:
    """One map of one layer over the image, with the layer's path and the map's caption (the page
    keys its chart by both; they travel with the figure instead of in a ``"path:label"`` key)."""

    path: str
    label: str
    figure: go.Figure


@dataclass(frozen=True)
class SpatialFigures:
    """The Spatial page: every spatial map of every spatial record, in capture order (empty when
    the modules emitted none for this image)."""

    overlays: tuple[SpatialOverlay, ...]


MAP_UNITS = {
    "gc": "softmax weight<br>(sums to 1)",
    "a2": "gather weight<br>(each map sums to 1)",
}


def map_units(kind: str) -> str:
    """The colour bar's title for a spatial map of ``kind`` (gates are in [0, 1])."""
    if kind.startswith("nl_"):
        return "attention weight" if kind != "nl_dot_product" else "attention (÷N, signed)"
    return MAP_UNITS.get(kind, "gate value (0–1)")


def spatial_view(analysis: Analysis, opacity: float = 0.5) -> SpatialFigures:
    """Every spatial map of GC / CBAM / BAM (and GSoP position) records, overlaid on the user's
    picture (on the model's crop of it)."""
    pic = picture(analysis)
    return SpatialFigures(
        tuple(
            SpatialOverlay(
                path,
                label,
                figures.spatial_overlay(
                    pic,
                    heat,
                    opacity=opacity,
                    title=f"{path} ({rec.kind}): {label} {heat.shape[0]}×{heat.shape[1]}",
                    colorbar_title=map_units(rec.kind),
                ),
            )
            for path, rec in records_of_kind(analysis, SPATIAL_KINDS).items()
            for label, heat in spatial_maps(rec).items()
        )
    )
