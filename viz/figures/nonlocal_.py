"""The Non-local figures: each chosen query's attention map over the photo (plotly panels, or
composited into one light image per panel), and the plotly grid of query cells.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.figures.canvas import Picture, as_picture, blended_panel, panel_base
from viz.figures.grid import (
    PANEL_HEIGHT,
    QUERY_MARKER,
    apply_layout,
    grid_shape,
    heat_trace,
    image_axes_layout,
    image_trace,
    overlay_extent,
    panel_grid_layout,
    query_marker_trace,
    subplot_grid,
)
from viz.figures.query_panels import QueryPanels
from viz.figures.raster import (
    array,
    encode_jpeg,
    finite_range,
    minmax,
    rgb_image,
)


def query_maps(
    image: np.ndarray | Picture | None,
    panels: QueryPanels,
    *,
    zmin: float | None = None,
    zmax: float | None = None,
    smooth: bool = True,
    max_side: int = 320,
    heat_side: int = 96,
) -> go.Figure:
    """Non-local attention maps of several query positions, one subplot each, one colour bar.

    Each map (h', w') is stretched over the image extent, so key grids sub-sampled by pooling
    still align with the image; the query cell of ``grid_hw`` is marked with a red x. Without an
    image, maps are drawn on the query grid itself (one brick per key cell).

    Args:
        image: (H, W, 3) uint8 RGB (the crop), a :class:`Picture` (maps on its crop box), or
            None.
        panels: the maps, their queries (required here) and grid, titles, opacity, columns and
            colour scale.
        zmin: shared colour range minimum (default: over all maps).
        zmax: shared colour range maximum.
        smooth: bilinear up-sampling (False: bricks per key cell).
        max_side: photo embedding size per panel.
        heat_side: up-sampled map size per panel.

    Returns:
        go.Figure with subplots sharing ``coloraxis``.
    """
    if panels.queries is None:
        raise ValueError("query_maps: every panel needs its query (QueryPanels.queries is None)")
    arrs, titles, opacity = panels.maps, panels.titles, panels.opacity
    pic = as_picture(image) if image is not None else None
    img = pic.image if pic is not None else None
    extent = overlay_extent(img, panels.grid_hw)
    box = pic.box if pic is not None else None
    n_rows, n_cols = subplot_grid(len(arrs), panels.cols)
    # One layout dict instead of make_subplots + per-axis updates: this figure is rebuilt on every
    # query click, and plotly's per-property updates were ~2/3 of its cost.
    traces = []
    for i, (m, q) in enumerate(zip(arrs, panels.queries)):
        axes = {"xaxis": f"x{i + 1 if i else ''}", "yaxis": f"y{i + 1 if i else ''}"}
        if pic is not None:
            traces.append(image_trace(pic, max_side).update(**axes))
        heat = heat_trace(
            m,
            extent,
            heat_side=heat_side,
            smooth=smooth and img is not None,
            opacity=opacity if img is not None else 1.0,
            coloraxis="coloraxis",
            name=titles[i],
            box=box,
        )
        traces.append(heat.update(**axes))
        marker = query_marker_trace([q], panels.grid_hw, extent)
        if pic is not None:
            marker.x, marker.y = zip(pic.point(*q, panels.grid_hw))
        traces.append(marker.update(**axes))
    v_space = 0.08 / max(1, n_rows - 1) if n_rows > 1 else 0.0
    layout = panel_grid_layout(len(arrs), n_rows, n_cols, extent, titles, 0.02, v_space)
    lo, hi = finite_range(*arrs)
    layout["coloraxis"] = dict(
        colorscale=panels.colorscale,
        cmin=lo if zmin is None else zmin,
        cmax=hi if zmax is None else zmax,
        colorbar=dict(title=dict(text="attention weight"), thickness=14),
    )
    layout["showlegend"] = False
    x_title, y_title = pic.axis_titles if pic is not None else ("key column", "key row")
    layout["xaxis"]["title"], layout["yaxis"]["title"] = dict(text=x_title), dict(text=y_title)
    fig = go.Figure(data=traces, layout=layout)
    return apply_layout(
        fig,
        f"Attention maps of {len(arrs)} queries<br><sup>{panels.key_grids()}</sup>",
        80 + PANEL_HEIGHT * n_rows,
        uirevision="query-maps",
    )


def _titled(axes: dict, x_title: str, y_title: str) -> dict:
    """``axes`` (``xaxis``, ``yaxis`` layout dicts) with their titles set."""
    return {**axes, "xaxis": {**axes["xaxis"], "title": dict(text=x_title)},
            "yaxis": {**axes["yaxis"], "title": dict(text=y_title)}}  # fmt: skip


def click_grid_figure(
    image: np.ndarray,
    grid_hw: tuple[int, int],
    queries: Sequence[tuple[int, int]] = (),
    heat: np.ndarray | None = None,
    opacity: float = 0.5,
    *,
    title: str = "Click a cell to choose a query",
    colorscale: str = "Viridis",
    colorbar_title: str = "attention weight",
    show_grid: bool = True,
    max_side: int = 768,
    heat_side: int = 256,
    height: int = 520,
    uirevision: str = "click-grid",
) -> go.Figure:
    """The photo on the module's grid, one invisible point per cell, chosen queries marked.

    The five-step page draws a query and its attention row with it. Every cell centre carries
    ``customdata`` = [row, col] (and the heat's value there); with ``hovermode="closest"`` and no
    hover distance cutoff, pointing anywhere in a cell names that cell (the nearest centre on a
    regular grid is the cell's own). Chosen queries are visible red markers in a second trace.

    Args:
        image: (H, W, 3) uint8 RGB.
        grid_hw: (h, w) of the module's grid.
        queries: cells already chosen.
        heat: optional (h', w') map drawn over the image.
        opacity: heat opacity.
        title: figure title.
        colorscale: colour scale of the heat.
        colorbar_title: the heat's unit.
        show_grid: draw faint cell boundaries (only for grids up to 32 cells a side).
        max_side: photo embedding size.
        heat_side: up-sampled heat size.
        height: figure height.
        uirevision: keeps zoom and selection across Streamlit reruns.

    Returns:
        go.Figure; trace named "cells" is the click target, trace "queries" the chosen cells.
    """
    img = rgb_image(image)
    gh, gw = grid_shape(grid_hw)
    ih, iw = img.shape[:2]
    fig = go.Figure()
    fig.add_trace(image_trace(img, max_side))
    hm = None
    if heat is not None:
        hm = array(heat, 2, "click_grid_figure: heat")
        fig.add_trace(
            heat_trace(
                hm,
                (ih, iw),
                heat_side=heat_side,
                opacity=opacity,
                colorscale=colorscale,
                hover=False,
                colorbar_title=colorbar_title,
            )
        )
    rr, cc = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    xs = (cc + 0.5) * iw / gw - 0.5
    ys = (rr + 0.5) * ih / gh - 0.5
    hover = "cell (%{customdata[0]}, %{customdata[1]})"
    custom = np.stack([rr, cc], axis=-1)
    if hm is not None:
        # value of the heat at each cell centre (nearest key cell), so the hover still shows it
        hr = np.minimum((rr + 0.5) * hm.shape[0] / gh, hm.shape[0] - 1).astype(int)
        hc = np.minimum((cc + 0.5) * hm.shape[1] / gw, hm.shape[1] - 1).astype(int)
        custom = np.column_stack([rr, cc, hm[hr, hc]])
        hover += "<br>value %{customdata[2]:.4g}"
    marker_size = max(6.0, min(30.0, 480.0 / max(gh, gw)))
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            name="cells",
            marker=dict(size=marker_size, color="white", opacity=0.01, symbol="square"),
            selected=dict(marker=dict(opacity=0.01)),
            unselected=dict(marker=dict(opacity=0.01)),
            customdata=custom,
            hovertemplate=hover + "<extra></extra>",
            showlegend=False,
        )
    )
    q = [(int(r), int(c)) for r, c in queries]
    qt = query_marker_trace(q, (gh, gw), (ih, iw), name="queries")
    qt.update(unselected=dict(marker=dict(opacity=1.0)), selected=dict(marker=dict(opacity=1.0)))
    fig.add_trace(qt)
    if show_grid and max(gh, gw) <= 32:
        # one line trace with gaps, not one layout shape per line: shapes cost ~1 ms each to
        # validate and this figure is rebuilt on every click; hoverinfo "skip" keeps it unclickable
        xs_v = [c * iw / gw - 0.5 for c in range(1, gw)]
        ys_h = [r * ih / gh - 0.5 for r in range(1, gh)]
        gx = [v for x in xs_v for v in (x, x, None)] + [
            v for _ in ys_h for v in (-0.5, iw - 0.5, None)
        ]
        gy = [v for _ in xs_v for v in (-0.5, ih - 0.5, None)] + [
            v for y in ys_h for v in (y, y, None)
        ]
        grid_trace = go.Scatter(
            x=gx,
            y=gy,
            mode="lines",
            name="grid",
            line=dict(color="rgba(255,255,255,0.35)", width=1),
            hoverinfo="skip",
            showlegend=False,
        )
        fig.add_trace(grid_trace)
    sub = f"grid {gh}×{gw} on image {ih}×{iw}; {len(q)} chosen"
    return apply_layout(
        fig,
        f"{title}<br><sup>{sub}</sup>",
        height,
        **image_axes_layout((ih, iw), fixedrange=True, title=dict(text="x · y (px the model saw)")),
        clickmode="event+select",
        dragmode="pan",
        hovermode="closest",
        hoverdistance=-1,
        uirevision=uirevision,
        showlegend=False,
    )


def composited_query_maps(
    image: np.ndarray | Picture,
    panels: QueryPanels,
    *,
    side: int = 160,
    title: str | None = None,
    normalize: bool = False,
) -> go.Figure:
    """Like :func:`query_maps`, but light to send and to draw: every panel (photo and map blended
    at ``side`` px, the size a panel is drawn at) is tiled into ONE mosaic JPEG on one pair of
    axes, instead of a photo trace and a float heat map on a subplot per query. A 4×4 grid costs
    ~100 KB and one plot instead of 16 (the browser's drawing time dominated the page).
    Titles are annotations, query cells one marker trace, a 1×2 invisible heat map carries the
    shared colour bar; ``layout.meta["queries"]`` lists the panels' queries in order.

    ``panels.queries=None`` draws plain map panels (no markers; ``panels.titles`` then name them)
    and ``normalize`` min-max scales each map (for maps in different units side by side).
    ``image`` may be a :class:`Picture`: each panel is then the user's picture with the map on
    the model's crop, the rest dimmed and the crop outlined."""
    marked = panels.queries is not None
    queries, titles, colorscale = panels.cells, panels.titles, panels.colorscale
    pic = as_picture(image)
    arrs = [minmax(m) for m in panels.maps] if normalize else list(panels.maps)
    lo, hi = (0.0, 1.0) if normalize else finite_range(*arrs)
    n_rows, n_cols = subplot_grid(len(arrs), panels.cols)
    base = panel_base(pic, side)
    ph, pw = base.pixels.shape[:2]
    scale_y, scale_x = ph / pic.hw[0], pw / pic.hw[1]
    gap, band = max(4, pw // 30), max(14, ph // 8)  # between panels; title band above each
    height_px = n_rows * (band + ph) + (n_rows - 1) * gap
    width_px = n_cols * pw + (n_cols - 1) * gap
    mosaic = np.full((height_px, width_px, 3), 255, dtype=np.uint8)
    annotations, mx, my = [], [], []
    for i, (m, (qr, qc)) in enumerate(zip(arrs, queries)):
        r, c = divmod(i, n_cols)
        x0, y0 = c * (pw + gap), r * (band + ph + gap) + band
        mosaic[y0 : y0 + ph, x0 : x0 + pw] = blended_panel(
            base, m, panels.opacity, colorscale, lo, hi
        )
        cx, cy = pic.point(qr, qc, panels.grid_hw)
        mx.append(x0 + (cx + 0.5) * scale_x - 0.5)
        my.append(y0 + (cy + 0.5) * scale_y - 0.5)
        annotations.append(
            dict(
                text=titles[i],
                x=x0 + pw / 2,
                y=y0 - band / 2,
                xref="x",
                yref="y",
                showarrow=False,
                font=dict(size=13),
            )
        )
    traces = [
        go.Image(source=encode_jpeg(mosaic), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"),
        go.Scatter(
            x=mx if marked else [],
            y=my if marked else [],
            mode="markers",
            marker=QUERY_MARKER,
            customdata=[[int(r), int(c)] for r, c in queries] if marked else [],
            hovertemplate="query (%{customdata[0]}, %{customdata[1]})<extra></extra>",
            showlegend=False,
        ),
        go.Heatmap(
            z=[[lo, hi]],
            coloraxis="coloraxis",
            opacity=0.0,
            hoverinfo="skip",
            x0=0,
            dx=1,
            y0=0,
            dy=1,
        ),
    ]
    axis = dict(showgrid=False, zeroline=False, showticklabels=False, ticks="", constrain="domain")
    x_title, y_title = pic.axis_titles
    layout = dict(
        **_titled(
            dict(
                xaxis=dict(range=[-0.5, width_px - 0.5], **axis),
                yaxis=dict(range=[height_px - 0.5, -0.5], scaleanchor="x", scaleratio=1, **axis),
            ),
            f"each panel: {x_title}",
            y_title,
        ),
        annotations=annotations,
        coloraxis=dict(
            colorscale=colorscale,
            cmin=lo,
            cmax=hi,
            colorbar=dict(
                title=dict(
                    text="relative value<br>(per map, 0–1)" if normalize else "attention weight"
                ),
                thickness=14,
            ),
        ),
        showlegend=False,
        meta=dict(queries=[[int(r), int(c)] for r, c in queries] if marked else []),
    )
    fig = go.Figure(data=traces, layout=layout)
    if title is None:
        title = f"Attention maps of {len(arrs)} queries<br><sup>{panels.key_grids()}</sup>"
    return apply_layout(
        fig,
        title,
        int(90 + 240 * n_rows * min(1.0, 4 / n_cols) * (band + ph) / max(pw, 1)),
        uirevision="query-maps",
    )
