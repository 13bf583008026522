"""The Compare and Attribution figures: every model's main map over one photo, and attribution
maps (Grad-CAM, Integrated Gradients) in a row beside the attention maps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from viz.figures.canvas import Picture
from viz.figures.grid import apply_layout, panels_over_image

# Sent at the size they are drawn: panels are a few hundred px wide and the browser smooths the
# heat ("zsmooth"), so photos at <= 240-320 px and maps at <= 32-112 px look the same and weigh less.
_ATTRIBUTION = dict(normalize=True, colorscale="Inferno", max_side=320, heat_side=112)
_COMPARE = dict(normalize=True, colorscale="Viridis", max_side=240, heat_side=32)


def _over_image(image, maps, cols, opacity, title, note, defaults, style) -> go.Figure:
    unknown = set(style) - set(defaults)
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    style = {**defaults, **style}
    normalize = style["normalize"]
    fig, n_rows = panels_over_image(
        image,
        maps,
        cols,
        opacity,
        normalize,
        style["colorscale"],
        "relative value<br>(per map, 0–1)" if normalize else "value",
        style["max_side"],
        style["heat_side"],
    )
    note = note if normalize else "raw values"
    return apply_layout(fig, f"{title}<br><sup>{note}</sup>", None)


def attribution_side_by_side(
    image: np.ndarray | Picture, maps: Mapping[str, np.ndarray], opacity: float = 0.5, **style
) -> go.Figure:
    """Attribution and attention maps (Grad-CAM, Integrated Gradients, attention ...) in one row.

    Args:
        image: (H, W, 3) uint8 RGB (the crop), or a :class:`Picture` (maps on its crop box).
        maps: name -> (h, w) map (any resolution; each is stretched over the image).
        opacity: heat opacity.
        **style: ``normalize`` (True: min-max scale each map to [0, 1], their units differ),
            ``colorscale`` ("Inferno"), ``max_side`` (320 px photo per panel), ``heat_side``
            (112 px up-sampled map per panel).

    Returns:
        go.Figure, one subplot per map, shared colour bar.
    """
    if not maps:
        raise ValueError("attribution_side_by_side: no maps given")
    if any(v is None for v in maps.values()):
        raise ValueError("attribution_side_by_side: every map must be an array")
    title, note = "Attribution vs attention", "each map min–max scaled to [0, 1]"
    return _over_image(image, maps, len(maps), opacity, title, note, _ATTRIBUTION, style)


def compare_grid(
    image: np.ndarray | Picture,
    panels: Mapping[str, np.ndarray | None],
    cols: int = 4,
    **style,
) -> go.Figure:
    """One panel per attention module over the same photo; None marks a channel-only module.

    Args:
        image: (H, W, 3) uint8 RGB (the crop), or a :class:`Picture` (maps on its crop box).
        panels: module name -> (h, w) spatial map, or None for channel-only modules.
        cols: subplots per row.
        **style: ``opacity`` (0.5), ``normalize`` (True: min-max scale each map, modules' units
            differ), ``colorscale`` ("Viridis"), ``max_side`` (240), ``heat_side`` (32).

    Returns:
        go.Figure, one subplot per module, shared colour bar.
    """
    if not panels:
        raise ValueError("compare_grid: no panels given")
    opacity = style.pop("opacity", 0.5)
    title, note = "Every module on one image", "spatial maps min–max scaled per module"
    return _over_image(image, panels, cols, opacity, title, note, _COMPARE, style)
