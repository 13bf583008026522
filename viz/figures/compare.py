"""Plotly builders: pure functions from numpy arrays to ``go.Figure`` (no Streamlit, no torch).

Attribution and compare pages: maps side by side over the image.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from viz.figures.grid import PANEL_HEIGHT, apply_layout, panels_over_image


def attribution_side_by_side(
    image: np.ndarray,
    maps: Mapping[str, np.ndarray],
    opacity: float = 0.5,
    *,
    normalize: bool = True,
    colorscale: str = "Inferno",
    max_side: int = 480,
    heat_side: int = 224,
) -> go.Figure:
    """Attribution and attention maps (Grad-CAM, Integrated Gradients, attention ...) in one row.

    Args:
        image: (H, W, 3) uint8 RGB.
        maps: name -> (h, w) map (any resolution; each is stretched over the image).
        opacity: heat opacity.
        normalize: min-max scale each map to [0, 1] (their units differ); False keeps raw values.
        colorscale: plotly colour scale.
        max_side: photo embedding size per panel.
        heat_side: up-sampled map size per panel.

    Returns:
        go.Figure, one subplot per map, shared colour bar.
    """
    if not maps:
        raise ValueError("attribution_side_by_side: no maps given")
    if any(v is None for v in maps.values()):
        raise ValueError("attribution_side_by_side: every map must be an array")
    fig, n_rows = panels_over_image(
        image,
        maps,
        len(maps),
        opacity,
        normalize,
        colorscale,
        "relative (per map)" if normalize else "value",
        max_side,
        heat_side,
    )
    note = "each map min–max scaled to [0, 1]" if normalize else "raw values"
    return apply_layout(fig, f"Attribution vs attention<br><sup>{note}</sup>", 80 + 300 * n_rows)


def compare_grid(
    image: np.ndarray,
    panels: Mapping[str, np.ndarray | None],
    cols: int = 4,
    *,
    opacity: float = 0.5,
    normalize: bool = True,
    colorscale: str = "Viridis",
    max_side: int = 320,
    heat_side: int = 96,
) -> go.Figure:
    """One panel per attention module over the same photo; None marks a channel-only module.

    Args:
        image: (H, W, 3) uint8 RGB.
        panels: module name -> (h, w) spatial map, or None for channel-only modules.
        cols: subplots per row.
        opacity: heat opacity.
        normalize: min-max scale each map (modules' units differ).
        colorscale: plotly colour scale.
        max_side: photo embedding size per panel.
        heat_side: up-sampled map size per panel.

    Returns:
        go.Figure, one subplot per module, shared colour bar.
    """
    if not panels:
        raise ValueError("compare_grid: no panels given")
    fig, n_rows = panels_over_image(
        image,
        panels,
        cols,
        opacity,
        normalize,
        colorscale,
        "relative (per map)" if normalize else "value",
        max_side,
        heat_side,
    )
    note = "spatial maps min–max scaled per module" if normalize else "raw values"
    return apply_layout(
        fig, f"Every module on one image<br><sup>{note}</sup>", 80 + PANEL_HEIGHT * n_rows
    )
