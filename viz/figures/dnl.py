"""The DNL split on an image as one figure: the shared (unary) map beside each query's pairwise map,
on the key grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def dnl_figure(
    maps: Mapping[str, np.ndarray],
    queries: Sequence[tuple[int, int]],
    query_hw: tuple[int, int],
    share: float,
    title: str,
) -> go.Figure:
    """The shared (unary) map and each query's pairwise map, on the key grid.

    Args:
        maps: :func:`dnl_maps` output (``unary`` first, then ``pairwise <i>``).
        queries: (row, col) of each pairwise map's query on the query grid (marked with a cross).
        query_hw: the query grid, to place the crosses on the key grid.
        share: the unary term's R² on this image.
        title: figure title.
    """
    names = list(maps)
    fig = make_subplots(
        rows=1,
        cols=len(names),
        subplot_titles=["shared (unary) map: softmax(μ_qᵀk_j)"]
        + [f"query ({r}, {c}): (q_i − μ_q)ᵀk_j" for r, c in queries],
        horizontal_spacing=0.03,
    )
    unary = maps[names[0]]
    kh, kw = unary.shape
    fig.add_trace(
        go.Heatmap(
            z=unary,
            colorscale="Viridis",
            colorbar={"title": {"text": "share of<br>attention"}, "x": -0.08, "len": 0.9},
            hovertemplate="key (%{y}, %{x}): %{z:.4f}<extra>unary</extra>",
        ),
        row=1,
        col=1,
    )
    lim = max((float(np.abs(maps[n]).max()) for n in names[1:]), default=1.0) or 1.0
    qh, qw = query_hw
    for i, (name, (r, c)) in enumerate(zip(names[1:], queries), start=2):
        fig.add_trace(
            go.Heatmap(
                z=maps[name],
                colorscale="RdBu_r",
                zmid=0,
                zmin=-lim,
                zmax=lim,
                showscale=i == len(names),
                colorbar={"title": {"text": "logit vs<br>shared map"}},
                hovertemplate="key (%{y}, %{x}): %{z:.3f}<extra>pairwise</extra>",
            ),
            row=1,
            col=i,
        )
        fig.add_trace(
            go.Scatter(
                x=[c * kw / qw + (kw / qw - 1) / 2],
                y=[r * kh / qh + (kh / qh - 1) / 2],
                mode="markers",
                marker={"symbol": "x", "size": 11, "color": "black", "line": {"width": 2}},
                showlegend=False,
                hoverinfo="skip",
            ),
            row=1,
            col=i,
        )
    for i in range(1, len(names) + 1):
        fig.update_yaxes(
            autorange="reversed",
            scaleanchor=f"x{i if i > 1 else ''}",
            showticklabels=False,
            title_text="key row" if i == 1 else None,
            row=1,
            col=i,
        )
        fig.update_xaxes(showticklabels=False, title_text="key column", row=1, col=i)
    fig.update_layout(
        title=f"{title} — the unary term explains {share:.0%} of the logits' variance over keys",
        height=300,
        margin={"l": 70, "r": 10, "t": 70, "b": 40},
    )
    return fig
