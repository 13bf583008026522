"""The Double-attention (A²) page from an :class:`~viz.analysis.forward.Analysis`: the gather maps,
the distribute maps, and one position's distribution over the descriptors.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from viz import figures
from viz.analysis.forward import Analysis
from viz.views.common import picture


@dataclass(frozen=True)
class A2Figures:
    """The Double-attention page. ``position`` is ``None`` when no position was given, and
    ``descriptors`` when the block does not record its descriptor matrix G."""

    gather: go.Figure
    distribute: go.Figure
    position: go.Figure | None
    descriptors: go.Figure | None


def a2_view(
    analysis: Analysis, layer: str, position: tuple[int, int] | None = None, max_maps: int = 16
) -> A2Figures:
    """A²: the gather maps, the distribute argmax / entropy maps, one position's distribution over
    the n descriptors, and the descriptor matrix G (m x n)."""
    a = analysis.records[layer].tensors
    return A2Figures(
        gather=figures.a2_gather_grid(a["gather"], image=picture(analysis), max_maps=max_maps),
        distribute=figures.a2_distribute_maps(a["distribute"]),
        position=(
            figures.a2_position_distribution(a["distribute"], *position)
            if position is not None
            else None
        ),
        descriptors=figures.descriptor_matrix(a["descriptors"]) if "descriptors" in a else None,
    )


def a2_position_figure(analysis: Analysis, layer: str, position: tuple[int, int]) -> go.Figure:
    """One position's distribution over the n descriptors (what a pin on the A² explorer shows)."""
    return figures.a2_position_distribution(
        analysis.records[layer].tensors["distribute"], *position
    )
