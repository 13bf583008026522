"""The canvas and grid helpers every page's figures use: image and heat traces, image axes,
panels over an image, subplot grids, the common layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.figures.canvas import Picture, as_picture, heat_trace, image_trace, outline_trace
from viz.figures.raster import (
    array,
    finite_range,
    grid_shape,
    minmax,
)
from viz.figures.titles import (
    PANEL_HEIGHT,
    TITLE_FONT,
    panel_grid_geometry,
    row_height_for,
    title_lines,
    wrap_title,
)

MARGIN = dict(l=10, r=10, t=60, b=10)


QUERY_MARKER = dict(symbol="x", size=11, color="red", line=dict(width=2, color="white"))


def image_axes_layout(image_hw: tuple[int, int], **axis_extra: Any) -> dict:
    """Layout entries of one image panel: fixed extent, y down, equal aspect (plus extras)."""
    ih, iw = image_hw
    common = dict(
        showgrid=False, zeroline=False, showticklabels=False, ticks="", constrain="domain"
    )
    common.update(axis_extra)
    return dict(
        xaxis=dict(range=[-0.5, iw - 0.5], **common),
        yaxis=dict(range=[ih - 0.5, -0.5], scaleanchor="x", scaleratio=1, **common),
    )


def image_axes(fig: go.Figure, image_hw: tuple[int, int], row=None, col=None) -> None:
    """Fixed extent, y down, equal aspect for one (sub)plot."""
    ih, iw = image_hw
    if row is None:  # one panel: a single layout update (figures rebuilt on every click)
        fig.update_layout(**image_axes_layout(image_hw))
        return
    kw = dict(row=row, col=col)
    fig.update_xaxes(
        range=[-0.5, iw - 0.5],
        showgrid=False,
        zeroline=False,
        showticklabels=False,
        ticks="",
        constrain="domain",
        **kw,
    )
    fig.update_yaxes(
        range=[ih - 0.5, -0.5],
        showgrid=False,
        zeroline=False,
        showticklabels=False,
        ticks="",
        constrain="domain",
        **kw,
    )
    # equal aspect: each y axis anchors its scale to its own x axis
    for xa, ya in axes_pairs(fig, row, col):
        fig.layout[ya].scaleanchor = xa.replace("axis", "")
        fig.layout[ya].scaleratio = 1


def axes_pairs(fig: go.Figure, row=None, col=None) -> list[tuple[str, str]]:
    if row is None:
        return [("xaxis", "yaxis")]
    sp = fig.get_subplot(row, col)
    xa = sp.xaxis.plotly_name
    ya = sp.yaxis.plotly_name
    return [(xa, ya)]


def apply_layout(fig: go.Figure, title: str, height: int | None, **extra: Any) -> go.Figure:
    """Title (left), height (None keeps the figure's own) and margins (kept when a grid set
    them) of every figure."""
    if fig.layout.margin.t is None:
        extra.setdefault("margin", MARGIN if "<br>" not in title else dict(MARGIN, t=90))
    if height is None:
        height = fig.layout.height
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=height, **extra)
    return fig


def subplot_grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(int(cols), n))
    return math.ceil(n / cols), cols


def overlay_extent(image: np.ndarray | None, grid_hw: tuple[int, int]) -> tuple[int, int]:
    return image.shape[:2] if image is not None else grid_hw


def heatmap(
    values: np.ndarray,
    title: str = "",
    colorscale: str = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    x_title: str = "",
    y_title: str = "",
    text_fmt: str | None = None,
    *,
    x_labels: Sequence[Any] | None = None,
    y_labels: Sequence[Any] | None = None,
    zmid: float | None = None,
    height: int | None = None,
    colorbar_title: str = "",
) -> go.Figure:
    """Generic 2-D heatmap, row 0 at the top (matrix convention).

    Args:
        values: (rows, cols) array.
        title: figure title.
        colorscale: plotly colour scale.
        zmin: colour range minimum.
        zmax: colour range maximum.
        x_title: x axis title.
        y_title: y axis title.
        text_fmt: d3 format for values written in the cells, e.g. ".2f"; None writes nothing.
        x_labels: column labels.
        y_labels: row labels.
        zmid: colour scale midpoint (for diverging scales).
        height: figure height; by default from the number of rows.
        colorbar_title: label of the colour bar.

    Returns:
        go.Figure with one go.Heatmap.
    """
    z = array(values, 2, "heatmap: values")
    rows, cols = z.shape
    kw: dict[str, Any] = {}
    if text_fmt:
        kw.update(texttemplate=f"%{{z:{text_fmt}}}", textfont=dict(size=11))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(x_labels) if x_labels is not None else None,
            y=list(y_labels) if y_labels is not None else None,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            zmid=zmid,
            colorbar=dict(title=dict(text=colorbar_title), thickness=14),
            hovertemplate="row %{y}<br>col %{x}<br>value %{z:.4g}<extra></extra>",
            hoverongaps=False,
            **kw,
        )
    )
    fig.update_xaxes(title_text=x_title, side="bottom")
    fig.update_yaxes(title_text=y_title, autorange="reversed")
    if x_labels is not None:
        fig.update_xaxes(type="category")
    if y_labels is not None:
        fig.update_yaxes(type="category")
    if height is None:
        height = int(min(720, max(320, 140 + 22 * rows)))
    return apply_layout(fig, title, height)


def query_marker_trace(
    queries: Sequence[tuple[int, int]], grid_hw, image_hw, name: str = "query", showlegend=False
) -> go.Scatter:
    pts = [cell_center(r, c, grid_hw, image_hw) for r, c in queries]
    return go.Scatter(
        x=[p[0] for p in pts],
        y=[p[1] for p in pts],
        mode="markers",
        marker=QUERY_MARKER,
        customdata=[[int(r), int(c)] for r, c in queries],
        hovertemplate="query (%{customdata[0]}, %{customdata[1]})<extra></extra>",
        name=name,
        showlegend=showlegend,
    )


def panel_grid_layout(
    n: int,
    n_rows: int,
    n_cols: int,
    image_hw: tuple[int, int],
    titles: Sequence[str],
    h_space: float,
    v_space: float,
) -> dict:
    """Axes (fixed extent, y down, equal aspect) and title annotations for n image panels."""
    ih, iw = image_hw
    width = (1.0 - h_space * (n_cols - 1)) / n_cols
    height = (1.0 - v_space * (n_rows - 1)) / n_rows
    common = dict(
        showgrid=False, zeroline=False, showticklabels=False, ticks="", constrain="domain"
    )
    layout: dict = {"annotations": []}
    for i in range(n):
        r, c = divmod(i, n_cols)
        sfx = str(i + 1) if i else ""
        x0, y1 = c * (width + h_space), 1.0 - r * (height + v_space)
        layout[f"xaxis{sfx}"] = dict(
            domain=[x0, x0 + width], anchor=f"y{sfx}", range=[-0.5, iw - 0.5], **common
        )
        layout[f"yaxis{sfx}"] = dict(
            domain=[max(y1 - height, 0.0), y1],
            anchor=f"x{sfx}",
            range=[ih - 0.5, -0.5],
            scaleanchor=f"x{sfx}",
            scaleratio=1,
            **common,
        )
        layout["annotations"].append(panel_title(titles[i], x0 + width / 2, y1))
    return layout


def panels_over_image(
    image: np.ndarray | Picture,
    panels: Mapping[str, np.ndarray | None],
    cols: int,
    opacity: float,
    normalize: bool,
    colorscale: str,
    colorbar_title: str,
    max_side: int,
    heat_side: int,
) -> tuple[go.Figure, int]:
    """One panel per map over the same picture (each map on the model's crop box, the crop
    outlined), one shared colour bar; None marks a module with no spatial map."""
    pic = as_picture(image)
    ih, iw = pic.hw
    names = list(panels)
    fig, n_rows, n_cols = panel_figure(names, cols, row_height_for((ih, iw), min(cols, len(names))))
    arrays = {k: None if v is None else array(v, 2, f"map {k!r}") for k, v in panels.items()}
    shown = [a for a in arrays.values() if a is not None]
    lo, hi = (0.0, 1.0) if normalize else finite_range(*shown) if shown else (0.0, 1.0)
    base = image_trace(pic, max_side)
    outline = outline_trace(pic)
    for i, name in enumerate(names):
        r, c = divmod(i, n_cols)
        fig.add_trace(base, row=r + 1, col=c + 1)
        a = arrays[name]
        if a is None:
            sp = fig.get_subplot(r + 1, c + 1)
            x0, y0, x1, y1 = pic.box
            fig.add_annotation(
                text="channel-only<br>(no spatial map)",
                x=(x0 + x1) / 2 - 0.5,
                y=(y0 + y1) / 2 - 0.5,
                xref=sp.xaxis.plotly_name.replace("axis", ""),
                yref=sp.yaxis.plotly_name.replace("axis", ""),
                showarrow=False,
                font=dict(size=12, color="white"),
                bgcolor="rgba(0,0,0,0.55)",
            )
        else:
            fig.add_trace(
                heat_trace(
                    minmax(a) if normalize else a,
                    (ih, iw),
                    heat_side=heat_side,
                    opacity=opacity,
                    coloraxis="coloraxis",
                    name=name,
                    box=pic.box,
                ),
                row=r + 1,
                col=c + 1,
            )
        if outline is not None:
            fig.add_trace(outline, row=r + 1, col=c + 1)
        image_axes(fig, (ih, iw), row=r + 1, col=c + 1)
    label_panel_axes(fig, pic.axis_titles, n_rows, n_cols, len(names))
    fig.update_layout(
        coloraxis=dict(
            colorscale=colorscale,
            cmin=lo,
            cmax=hi,
            colorbar=dict(title=dict(text=colorbar_title), thickness=14),
        ),
        showlegend=False,
    )
    return fig, n_rows


def label_panel_axes(fig: go.Figure, titles: tuple[str, str], n_rows: int, n_cols: int, n: int):
    """Axis titles on the outer panels only (x under each column's lowest panel, y left of each
    row's first), so no title sits between two panels."""
    x_title, y_title = titles
    for i in range(n):
        r, c = divmod(i, n_cols)
        if i + n_cols >= n:  # no panel below
            fig.update_xaxes(title=dict(text=x_title, font=dict(size=11)), row=r + 1, col=c + 1)
        if c == 0:
            fig.update_yaxes(title=dict(text=y_title, font=dict(size=11)), row=r + 1, col=c + 1)


def cell_center(
    row: int, col: int, grid_hw: tuple[int, int], image_hw: tuple[int, int]
) -> tuple[float, float]:
    """Image coordinates (x, y) of the centre of grid cell (row, col); out-of-range cells clamp.

    Args:
        row: cell row.
        col: cell column.
        grid_hw: (h, w) of the feature-map grid.
        image_hw: (H, W) of the image in pixels.

    Returns:
        (x, y) in pixel coordinates with pixel centres at integers.
    """
    gh, gw = grid_shape(grid_hw)
    ih, iw = grid_shape(image_hw, "image_hw")
    r = min(max(int(row), 0), gh - 1)
    c = min(max(int(col), 0), gw - 1)
    return (c + 0.5) * iw / gw - 0.5, (r + 0.5) * ih / gh - 0.5


def panel_title(text: str, x: float, y: float) -> dict:
    """A panel's title as a layout annotation centred at paper coordinates (x, y), above y."""
    return dict(
        text=text,
        x=x,
        y=y,
        xref="paper",
        yref="paper",
        xanchor="center",
        yanchor="bottom",
        showarrow=False,
        font=dict(size=TITLE_FONT),
    )


def panel_figure(
    titles: Sequence[str], cols: int, row_height: int = PANEL_HEIGHT
) -> tuple[go.Figure, int, int]:
    """The one grid of equal panels: ``(figure, rows, cols)`` for ``len(titles)`` panels in rows of
    at most ``cols``, each panel titled (wrapped); the gap between rows is sized in pixels for
    the titles; the figure's height and margins are set to fit them."""
    n_rows, n_cols = subplot_grid(len(titles), cols)
    wrapped = [wrap_title(t, max(12, 60 // n_cols)) for t in titles]
    px = panel_grid_geometry(n_rows, title_lines(wrapped), row_height)
    area = px["height"] - px["top"] - px["bottom"]
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=wrapped,
        horizontal_spacing=0.04,
        vertical_spacing=px["gap"] / area if n_rows > 1 else 0.0,
    )
    for annotation in fig.layout.annotations:
        annotation.font = dict(size=TITLE_FONT)
    fig.update_layout(height=px["height"], margin=dict(l=40, r=10, t=px["top"], b=px["bottom"]))
    return fig, n_rows, n_cols
