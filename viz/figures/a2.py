"""The Double-attention (A²) figures: the gather maps, the distribute step's argmax and
entropy per position, one position's weights, the global descriptors.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots
from scipy.stats import entropy

from viz.figures.canvas import Picture, as_picture, heat_trace, image_trace, outline_trace
from viz.figures.grid import (
    apply_layout,
    heatmap,
    image_axes,
    label_panel_axes,
    panel_figure,
    row_height_for,
)
from viz.figures.raster import array, categorical_colorscale, finite_range


def a2_argmax_entropy(distribute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position: the descriptor with the largest distribute weight and the normalised entropy.

    Entropy is -sum p log p / log n, so 0 = all weight on one descriptor, 1 = uniform (n = 1 gives 0).

    Args:
        distribute: (n, h, w) weights summing to 1 over n.

    Returns:
        (argmax (h, w) int, entropy (h, w) float in [0, 1]).
    """
    d = array(distribute, 3, "distribute")
    n = d.shape[0]
    p = np.clip(d, 0.0, None)
    s = p.sum(axis=0, keepdims=True)
    p = np.divide(p, s, out=np.full_like(p, 1.0 / n), where=s > 0)
    ent = entropy(p, axis=0) / math.log(n) if n > 1 else np.zeros(p.shape[1:])
    return d.argmax(axis=0), np.clip(ent, 0.0, 1.0)


def _normalised_entropy_1d(p: np.ndarray) -> float:
    return float(a2_argmax_entropy(p.reshape(-1, 1, 1))[1][0, 0])


def a2_gather_grid(
    gather: np.ndarray,
    image: np.ndarray | Picture | None = None,
    max_maps: int = 16,
    cols: int = 4,
    *,
    order: str = "peaked",
    opacity: float = 0.6,
    colorscale: str = "Viridis",
    max_side: int = 240,
    heat_side: int = 32,
) -> go.Figure:
    """The A² gather maps (each a softmax over positions) as a grid of small maps.

    ``order="peaked"`` shows the most concentrated maps first (lowest normalised entropy),
    ``order="index"`` keeps descriptor order; the title says which. Colour is the share of the
    map's mass at each position times N (1 = uniform), so diffuse and peaked maps share one scale.

    Args:
        gather: (n, h, w) maps, each summing to 1 over h*w.
        image: optional (H, W, 3) uint8 photo (the crop) or :class:`Picture` to draw the maps
            over (on its crop box).
        max_maps: at most this many maps.
        cols: subplots per row.
        order: "peaked" or "index".
        opacity: heat opacity over the image.
        colorscale: plotly colour scale.
        max_side: photo embedding size per panel.
        heat_side: up-sampled map size per panel.

    Returns:
        go.Figure with one subplot per shown map and a shared colour bar.
    """
    g = array(gather, 3, "a2_gather_grid: gather")
    if order not in ("peaked", "index"):
        raise ValueError(f"a2_gather_grid: order must be 'peaked' or 'index', got {order!r}")
    n, h, w = g.shape
    flat = g.reshape(n, -1)
    ent = np.array([_normalised_entropy_1d(f) for f in flat])
    idx = np.argsort(ent, kind="stable") if order == "peaked" else np.arange(n)
    idx = idx[: max(1, int(max_maps))]
    rel = g * (h * w)  # 1 = uniform share
    pic = as_picture(image) if image is not None else None
    extent = pic.hw if pic is not None else (h, w)
    titles = [f"map {k} · H={ent[k]:.2f}" for k in idx]
    fig, n_rows, n_cols = panel_figure(titles, cols, row_height_for(extent, min(cols, len(idx))))
    base = image_trace(pic, max_side) if pic is not None else None
    outline = outline_trace(pic) if pic is not None else None
    for i, k in enumerate(idx):
        r, c = divmod(i, n_cols)
        if base is not None:
            fig.add_trace(base, row=r + 1, col=c + 1)
        fig.add_trace(
            heat_trace(
                rel[k],
                extent,
                heat_side=heat_side,
                smooth=pic is not None,
                opacity=opacity if pic is not None else 1.0,
                coloraxis="coloraxis",
                name=f"map {k}",
                box=pic.box if pic is not None else None,
            ),
            row=r + 1,
            col=c + 1,
        )
        if outline is not None:
            fig.add_trace(outline, row=r + 1, col=c + 1)
        image_axes(fig, extent, row=r + 1, col=c + 1)
    titles = pic.axis_titles if pic is not None else ("key column", "key row")
    label_panel_axes(fig, titles, n_rows, n_cols, len(idx))
    lo, hi = finite_range(*[rel[k] for k in idx])
    fig.update_layout(
        coloraxis=dict(
            colorscale=colorscale,
            cmin=0.0,
            cmax=max(hi, 1.0),
            colorbar=dict(title=dict(text="mass × N<br>(1 = uniform)"), thickness=14),
        ),
        showlegend=False,
    )
    how = "most peaked first (lowest entropy)" if order == "peaked" else "in descriptor order"
    head = f"A² gather maps: {len(idx)} of {n}, {how}<br><sup>H = entropy / log N; colour 1 = uniform</sup>"
    return apply_layout(fig, head, None)


def a2_distribute_maps(distribute: np.ndarray) -> go.Figure:
    """A² distribute step: which descriptor each position takes most from, and how selective it is.

    Args:
        distribute: (n, h, w) weights summing to 1 over n at each position.

    Returns:
        go.Figure with two heatmaps side by side: argmax descriptor (categorical colours) and
        entropy / log n (0 = one descriptor, 1 = uniform).
    """
    d = array(distribute, 3, "a2_distribute_maps: distribute")
    n, h, w = d.shape
    am, ent = a2_argmax_entropy(d)
    peak = d.max(axis=0)
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=("argmax descriptor", "entropy / log n"),
    )
    fig.add_trace(
        go.Heatmap(
            z=am,
            customdata=peak,
            coloraxis="coloraxis",
            hovertemplate="row %{y}, col %{x}<br>descriptor %{z}<br>weight %{customdata:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Heatmap(
            z=ent,
            coloraxis="coloraxis2",
            hovertemplate="row %{y}, col %{x}<br>entropy %{z:.3f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    for col in (1, 2):
        image_axes(fig, (h, w), row=1, col=col)
        fig.update_xaxes(showticklabels=True, ticks="outside", title_text="column", row=1, col=col)
        fig.update_yaxes(showticklabels=True, ticks="outside", title_text="row", row=1, col=col)
    step = max(1, n // 10)
    fig.update_layout(
        coloraxis=dict(
            colorscale=categorical_colorscale(n),
            cmin=-0.5,
            cmax=n - 0.5,
            colorbar=dict(
                title=dict(text="descriptor"),
                x=0.44,
                thickness=12,
                tickvals=list(range(0, n, step)),
            ),
        ),
        coloraxis2=dict(
            colorscale="Magma",
            cmin=0.0,
            cmax=1.0,
            colorbar=dict(title=dict(text="H / log n"), x=1.0, thickness=12),
        ),
    )
    used = np.unique(am).size
    head = (
        f"A² distribute weights (n = {n}, {h}×{w})<br><sup>{used} descriptors win somewhere; "
        f"mean entropy {float(ent.mean()):.3f}</sup>"
    )
    return apply_layout(fig, head, 420)


def a2_position_distribution(distribute: np.ndarray, row: int, col: int) -> go.Figure:
    """Bar chart of the n distribute weights at one position.

    Args:
        distribute: (n, h, w) weights summing to 1 over n.
        row: position row.
        col: position column.

    Returns:
        go.Figure with one go.Bar (colours match ``a2_distribute_maps``).
    """
    d = array(distribute, 3, "a2_position_distribution: distribute")
    n, h, w = d.shape
    if not (0 <= int(row) < h and 0 <= int(col) < w):
        raise ValueError(
            f"a2_position_distribution: position ({row}, {col}) outside the {h}×{w} grid"
        )
    p = d[:, int(row), int(col)]
    palette = qualitative.Light24 if n > 10 else qualitative.Plotly
    ent = _normalised_entropy_1d(p)
    fig = go.Figure(
        go.Bar(
            x=np.arange(n),
            y=p,
            marker_color=[palette[k % len(palette)] for k in range(n)],
            hovertemplate="descriptor %{x}<br>weight %{y:.4f}<extra></extra>",
        )
    )
    fig.add_hline(y=1.0 / n, line=dict(dash="dot", color="grey"), annotation_text="uniform 1/n")
    fig.update_xaxes(title_text="descriptor")
    fig.update_yaxes(title_text="weight", range=[0, max(1.0 / n, float(np.nanmax(p))) * 1.1])
    head = (
        f"Distribute weights at ({int(row)}, {int(col)})<br><sup>argmax {int(p.argmax())}, "
        f"weight {float(p.max()):.3f}, entropy / log n {ent:.3f}</sup>"
    )
    return apply_layout(fig, head, 320, showlegend=False)


def descriptor_matrix(descriptors: np.ndarray) -> go.Figure:
    """The A² global descriptors G (m, n) as a diverging heatmap centred at 0.

    Args:
        descriptors: (m, n) array, m channels by n descriptors.

    Returns:
        go.Figure with one go.Heatmap.
    """
    g = array(descriptors, 2, "descriptor_matrix: descriptors")
    m, n = g.shape
    bound = float(np.nanmax(np.abs(g))) if np.isfinite(g).any() else 1.0
    fig = heatmap(
        g,
        title=f"A² global descriptors G ({m}×{n})",
        colorscale="RdBu_r",
        zmin=-bound,
        zmax=bound,
        x_title="descriptor",
        y_title="channel",
        height=int(min(640, max(320, 140 + 4 * m))),
        colorbar_title="G",
    )
    fig.update_traces(hovertemplate="channel %{y}<br>descriptor %{x}<br>G %{z:.4g}<extra></extra>")
    return fig
