"""What each page shows, assembled from an :class:`viz.analysis.Analysis`: pure, Streamlit-free.

The Double-attention page.
"""

from __future__ import annotations

import plotly.graph_objects as go

from viz import figures
from viz.analysis.run import Analysis


def a2_view(
    analysis: Analysis, layer: str, position: tuple[int, int] | None = None, max_maps: int = 16
) -> dict[str, go.Figure]:
    """A²: the gather maps, the distribute argmax / entropy maps, one position's distribution over
    the n descriptors, and the descriptor matrix G (m x n)."""
    rec = analysis.records[layer]
    a = rec.tensors
    out = {
        "gather": figures.a2_gather_grid(a["gather"], image=analysis.image, max_maps=max_maps),
        "distribute": figures.a2_distribute_maps(a["distribute"]),
    }
    if position is not None:
        out["position"] = figures.a2_position_distribution(a["distribute"], *position)
    if "descriptors" in a:
        out["descriptors"] = figures.descriptor_matrix(a["descriptors"])
    return out
