"""What each page shows, assembled from an :class:`viz.analysis.Analysis`: pure, Streamlit-free.

The Spatial-attention page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from viz import figures
from viz.analysis.run import Analysis, records_of_kind
from viz.attention import SPATIAL_KINDS, mechanism
from viz.capture.recorder import Record


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


def spatial_view(analysis: Analysis, opacity: float = 0.5) -> SpatialFigures:
    """Every spatial map of GC / CBAM / BAM (and GSoP position) records, overlaid on the image."""
    return SpatialFigures(
        tuple(
            SpatialOverlay(
                path,
                label,
                figures.spatial_overlay(
                    analysis.image,
                    heat,
                    opacity=opacity,
                    title=f"{path} ({rec.kind}): {label} {heat.shape[0]}×{heat.shape[1]}",
                ),
            )
            for path, rec in records_of_kind(analysis, SPATIAL_KINDS).items()
            for label, heat in spatial_maps(rec).items()
        )
    )
