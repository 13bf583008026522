"""The channel-attention figures: one block's gate bars, the blocks x channels heatmap, and one
block's gates compared across images.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from viz.figures.grid import apply_layout
from viz.figures.raster import array, finite_range, fmt_num, in_unit_interval


def _strongest_first(values: np.ndarray) -> np.ndarray:
    """Channel indices by value, largest first; NaN last, ties in channel order."""
    return np.argsort(-np.where(np.isfinite(values), values, -np.inf), kind="stable")


def _channel_x(idx: np.ndarray, reordered: bool):
    """The x values of channels ``idx``: their indices, or "ch i" labels once the channels are
    cut or reordered (a categorical axis keeps the order given)."""
    return [f"ch {i}" for i in idx] if reordered else idx


def _channel_axes(fig: go.Figure, reordered: bool, order_note: str, unit: bool, other: str) -> None:
    """The channel x axis (categorical when reordered) and the value y axis: "gate" on [0, 1.02]
    when every value lies in [0, 1], else ``other`` on plotly's own range."""
    fig.update_xaxes(title_text="channel" + order_note, type="category" if reordered else "linear")
    fig.update_yaxes(title_text="gate" if unit else other, range=[0, 1.02] if unit else None)


def channel_bars(
    gates: np.ndarray,
    title: str = "",
    sort: bool = False,
    top_k: int | None = None,
    labels: list[str] | None = None,
    colorscale: str = "Viridis",
) -> go.Figure:
    """One bar per channel of a channel-attention vector.

    Args:
        gates: (C,) gates in [0, 1] (SE, ECA, GSoP, CBAM) or logits (BAM); a (1, C) batch is fine.
        title: figure title.
        sort: order bars by value, strongest first.
        top_k: keep only the k strongest channels (in channel order unless ``sort``).
        labels: optional name per channel (length C), shown in the hover.
        colorscale: bar colours by value.

    Returns:
        go.Figure with one go.Bar; the y axis is [0, 1] when all gates lie in [0, 1].
    """
    g = array(gates, 1, "channel_bars: gates")
    n = g.size
    if labels is not None and len(labels) != n:
        raise ValueError(f"channel_bars: {len(labels)} labels for {n} channels")
    idx = np.arange(n)
    if top_k is not None and 0 < int(top_k) < n:
        idx = np.sort(_strongest_first(g)[: int(top_k)])
    if sort:
        idx = idx[_strongest_first(g[idx])]
    reordered = sort or len(idx) < n
    vals = g[idx]
    names = [labels[i] if labels is not None else "" for i in idx]
    x = _channel_x(idx, reordered)
    unit = in_unit_interval(g)
    lo, hi = finite_range(vals)
    bar = go.Bar(
        x=x,
        y=vals,
        customdata=[[int(i), s] for i, s in zip(idx, names)],
        marker=dict(
            color=vals,
            colorscale=colorscale,
            cmin=0.0 if unit else lo,
            cmax=1.0 if unit else hi,
            colorbar=dict(title=dict(text="gate" if unit else "logit"), thickness=14),
        ),
        hovertemplate="channel %{customdata[0]} %{customdata[1]}<br>value %{y:.4f}<extra></extra>",
        name="gates",
    )
    fig = go.Figure(bar)
    mean = float(np.nanmean(g))
    fig.add_hline(
        y=mean,
        line=dict(dash="dash", color="grey", width=1),
        annotation_text=f"mean {mean:.3f} (all {n})",
        annotation_position="top right",
    )
    shown = f"{len(idx)} of {n} channels" + (", strongest first" if sort else "")
    _channel_axes(fig, reordered, " (by value)" if sort else "", unit, "logit")
    return apply_layout(
        fig, f"{title} — {shown}" if title else shown, 340, bargap=0.1, showlegend=False
    )


def channel_heatmap(
    gates_by_block: Mapping[str, np.ndarray], colorscale: str = "Viridis"
) -> go.Figure:
    """Blocks x channels heatmap of channel gates; blocks with fewer channels are padded with NaN.

    Args:
        gates_by_block: block name -> (C_b,) gates, drawn top to bottom in dict order.
        colorscale: plotly colour scale.

    Returns:
        go.Figure with one go.Heatmap of shape (blocks, max C_b).
    """
    if not gates_by_block:
        raise ValueError("channel_heatmap: no blocks given")
    names = list(gates_by_block)
    rows = [array(gates_by_block[k], 1, f"channel_heatmap: block {k!r}") for k in names]
    width = max(r.size for r in rows)
    z = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        z[i, : r.size] = r
    unit = all(in_unit_interval(r) for r in rows)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(width),
            y=names,
            colorscale=colorscale,
            zmin=0.0 if unit else None,
            zmax=1.0 if unit else None,
            colorbar=dict(title=dict(text="gate" if unit else "value"), thickness=14),
            hovertemplate="%{y}<br>channel %{x}<br>value %{z:.4f}<extra></extra>",
            hoverongaps=False,
        )
    )
    fig.update_xaxes(title_text="channel")
    fig.update_yaxes(title_text="block", autorange="reversed", type="category")
    height = int(min(900, max(260, 120 + 28 * len(rows))))
    return apply_layout(fig, f"Channel gates per block ({len(rows)} blocks)", height)


def pairwise_correlation(vectors_by_name: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pearson correlation between every pair of equal-length vectors (k, k); NaN if constant."""
    rows = np.stack([array(v, 1, f"vector {k!r}") for k, v in vectors_by_name.items()])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.atleast_2d(np.corrcoef(rows))


def channel_compare(
    gates_by_image: Mapping[str, np.ndarray], top_k: int | None = None, title: str = ""
) -> go.Figure:
    """The same block's channel gates for several images: grouped bars (lines when C > 64).

    With ``top_k`` only the k channels with the largest mean gate across images are drawn, in that
    order. The Pearson correlation between images (over all channels) goes in an annotation.

    Args:
        gates_by_image: image name -> (C,) gates; all of the same length.
        top_k: keep the k channels strongest on average.
        title: figure title.

    Returns:
        go.Figure with one trace per image.
    """
    if not gates_by_image:
        raise ValueError("channel_compare: no images given")
    names = list(gates_by_image)
    rows = [array(gates_by_image[k], 1, f"channel_compare: {k!r}") for k in names]
    sizes = {r.size for r in rows}
    if len(sizes) != 1:
        raise ValueError(f"channel_compare: images have different channel counts {sorted(sizes)}")
    n = rows[0].size
    idx = np.arange(n)
    if top_k is not None and 0 < int(top_k) < n:
        idx = _strongest_first(np.nanmean(np.stack(rows), axis=0))[: int(top_k)]
    reordered = len(idx) < n
    x = _channel_x(idx, reordered)
    lines = len(idx) > 64
    palette = qualitative.Plotly
    fig = go.Figure()
    for k, (name, r) in enumerate(zip(names, rows)):
        style = dict(
            x=x,
            y=r[idx],
            name=name,
            customdata=idx,
            hovertemplate=f"{name}<br>channel %{{customdata}}<br>value %{{y:.4f}}<extra></extra>",
        )
        if lines:
            fig.add_trace(
                go.Scatter(mode="lines", line=dict(width=1.2, color=palette[k % 10]), **style)
            )
        else:
            fig.add_trace(go.Bar(marker_color=palette[k % 10], **style))
    corr_text = ""
    if len(rows) >= 2:
        corr = pairwise_correlation(dict(zip(names, rows)))
        pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))]
        if len(pairs) <= 6:
            corr_text = "Pearson r: " + ", ".join(
                f"{names[i]}–{names[j]} {fmt_num(corr[i, j])}" for i, j in pairs
            )
        else:
            vals = np.array([corr[i, j] for i, j in pairs])
            corr_text = f"mean pairwise Pearson r {fmt_num(np.nanmean(vals))} (min {fmt_num(np.nanmin(vals))})"
        fig.add_annotation(
            text=corr_text,
            xref="paper",
            yref="paper",
            x=0,
            y=1.0,
            yanchor="bottom",
            xanchor="left",
            showarrow=False,
            font=dict(size=12),
        )
    unit = all(in_unit_interval(r) for r in rows)
    _channel_axes(
        fig, reordered, " (strongest on average first)" if reordered else "", unit, "value"
    )
    head = title or f"Channel gates across {len(rows)} images"
    return apply_layout(
        fig,
        head,
        380,
        barmode="group",
        bargap=0.15,
        margin=dict(l=10, r=10, t=80, b=10),
        legend=dict(orientation="h", y=-0.2),
        meta=dict(correlation=corr_text),
    )
