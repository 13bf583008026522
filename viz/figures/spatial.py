"""The spatial-attention figure: one (h, w) map up-sampled over the photo, with a colour bar."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz.figures.canvas import Picture, as_picture, heat_trace, image_trace, outline_trace
from viz.figures.grid import apply_layout, image_axes_layout
from viz.figures.raster import array


def spatial_overlay(
    image: np.ndarray | Picture,
    heat: np.ndarray,
    opacity: float = 0.5,
    title: str = "",
    colorscale: str = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    *,
    smooth: bool = True,
    max_side: int = 512,
    heat_side: int = 64,
    height: int | None = None,
    colorbar_title: str = "",
) -> go.Figure:
    """A (h, w) attention map bilinearly up-sampled over the photo, with a colour bar.

    On a :class:`Picture` the map covers the model's crop of the user's picture, the rest is
    dimmed and the crop outlined.

    Args:
        image: (H, W, 3) uint8 RGB (the crop the model saw), or a :class:`Picture`.
        heat: (h, w) map on the module's grid.
        opacity: heat map opacity.
        title: figure title.
        colorscale: plotly colour scale.
        zmin: colour range minimum (default: the map's minimum).
        zmax: colour range maximum.
        smooth: False draws one brick per grid cell instead of interpolating.
        max_side: the photo is embedded at most this many pixels on its long side.
        heat_side: the up-sampled map has at most this many pixels on its long side.
        height: figure height in pixels (default: from the picture's aspect, for a plot
            about 480 px wide, so a wide picture does not float in a tall box).
        colorbar_title: label of the colour bar.

    Returns:
        go.Figure: a go.Image and a go.Heatmap in image pixel coordinates, y down.
    """
    pic = as_picture(image)
    h = array(heat, 2, "spatial_overlay: heat")
    ih, iw = pic.hw
    heat = heat_trace(
        h,
        (ih, iw),
        box=pic.box,
        heat_side=heat_side,
        smooth=smooth,
        opacity=opacity,
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        colorbar_title=colorbar_title,
    )
    outline = outline_trace(pic)
    traces = [image_trace(pic, max_side), heat] + ([outline] if outline is not None else [])
    fig = go.Figure(data=traces)
    sub = f"map {h.shape[0]}×{h.shape[1]} over {pic.extent_note}"
    layout = image_axes_layout((ih, iw))
    x_title, y_title = pic.axis_titles
    layout["xaxis"]["title"] = dict(text=x_title)
    layout["yaxis"]["title"] = dict(text=y_title)
    if height is None:
        height = int(np.clip(150 + 480 * ih / iw, 340, 640))
    return apply_layout(
        fig,
        f"{title}<br><sup>{sub}</sup>" if title else sub,
        height,
        uirevision="overlay",
        showlegend=False,
        **layout,
    )
