"""Plotly figure builders: pure functions from numpy arrays to ``go.Figure``.

No torch and no Streamlit here, so every figure can be built and tested from plain arrays.

Coordinates. Every figure that shows a photo uses the photo's own pixel coordinates, pixel centres
at integers: the image spans x in [-0.5, W - 0.5] and y in [-0.5, H - 0.5], y pointing down. A
feature-map grid (h, w) tiles that extent exactly, so cell (r, c) covers
x in [c W/w - 0.5, (c + 1) W/w - 0.5]; ``cell_center`` and ``click_to_cell`` convert between the two
and everything (overlays, query markers, click targets) is placed with them, so a map on any grid
lines up with the image. Large photos are embedded down-scaled (``max_side``) as a JPEG data URI and
heat maps are up-sampled to at most ``heat_side`` pixels, both stretched back over the full extent:
the payload stays small without changing any coordinate.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from viz.paper import GCNET_TABLE1, NL_FORM_TITLES, NL_FORMS

__all__ = [
    "SOURCE_COCO",
    "SOURCE_KINETICS",
    "SOURCE_MEASURED",
    "SOURCE_ZOO",
    "a2_argmax_entropy",
    "a2_distribute_maps",
    "a2_gather_grid",
    "a2_position_distribution",
    "attribution_side_by_side",
    "cell_center",
    "channel_bars",
    "channel_compare",
    "channel_heatmap",
    "blend",
    "click_grid_figure",
    "click_grid_payload",
    "colorize",
    "composited_query_maps",
    "click_to_cell",
    "compare_grid",
    "descriptor_matrix",
    "distance_matrix",
    "fmt_num",
    "heatmap",
    "pairwise_correlation",
    "query_maps",
    "resize_bilinear",
    "selection_to_cells",
    "spatial_overlay",
    "table1_comparison",
    "table1_frame",
]

SOURCE_MEASURED = "this image"
SOURCE_ZOO = "zoo (held-out)"
SOURCE_COCO = "GCNet COCO"
SOURCE_KINETICS = "GCNet Kinetics"
_SOURCE_COLORS = {
    SOURCE_MEASURED: "#d62728",
    SOURCE_ZOO: "#ff7f0e",
    SOURCE_COCO: "#1f77b4",
    SOURCE_KINETICS: "#17becf",
}
_STATS = ("input", "output", "att", "JSD")
_MEASURED_KEYS = {"input": "cos_input", "output": "cos_output", "att": "cos_att", "JSD": "jsd_att"}
_ZOO_KEYS = {"input": "input", "output": "output", "att": "att", "JSD": "jsd"}

_MARGIN = dict(l=10, r=10, t=60, b=10)
_PANEL_HEIGHT = 260  # per subplot row
_QUERY_MARKER = dict(symbol="x", size=11, color="red", line=dict(width=2, color="white"))


# --------------------------------------------------------------------------------------------
# validation and small numeric helpers


def _array(a: Any, ndim: int | tuple[int, ...], what: str) -> np.ndarray:
    """float64 copy of ``a`` with the expected rank; leading singleton batch axes are dropped."""
    if a is None:
        raise ValueError(f"{what}: got None")
    arr = np.asarray(a, dtype=np.float64)
    dims = (ndim,) if isinstance(ndim, int) else ndim
    while arr.ndim > max(dims) and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim not in dims or arr.size == 0:
        raise ValueError(
            f"{what}: expected a non-empty {'/'.join(map(str, dims))}-D array, got shape {arr.shape}"
        )
    return arr


def _rgb_image(image: Any) -> np.ndarray:
    """(H, W, 3) uint8 from uint8 or float [0, 1] / [0, 255] RGB(A) or grey arrays."""
    if image is None:
        raise ValueError("image: got None")
    img = np.asarray(image)
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"image: expected an (H, W, 3) array, got shape {img.shape}")
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    img = img[..., :3]
    if img.dtype != np.uint8:
        f = np.nan_to_num(img.astype(np.float64))
        if f.max(initial=0.0) <= 1.0:
            f = f * 255.0
        img = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def _grid(grid_hw: Sequence[int], what: str = "grid_hw") -> tuple[int, int]:
    try:
        h, w = (int(v) for v in grid_hw)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected (rows, cols), got {grid_hw!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"{what}: expected positive sizes, got {(h, w)}")
    return h, w


def _finite_range(*arrays: np.ndarray) -> tuple[float, float]:
    vals = [a[np.isfinite(a)] for a in arrays]
    vals = [v for v in vals if v.size]
    if not vals:
        return 0.0, 1.0
    lo = float(min(v.min() for v in vals))
    hi = float(max(v.max() for v in vals))
    if hi <= lo:
        hi = lo + 1e-12
    return lo, hi


def fmt_num(value: Any, digits: int = 3, none: str = "–") -> str:
    """``value`` with ``digits`` decimals; a value that rounds to zero is written "0.000", never
    "-0.000" (float error makes tiny negatives, e.g. a distance of -1e-9); None / NaN -> ``none``."""
    if value is None:
        return none
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return none if math.isnan(v) else ("∞" if v > 0 else "-∞")
    text = f"{v:.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text


def _in_unit_interval(a: np.ndarray) -> bool:
    f = a[np.isfinite(a)]
    return bool(f.size) and float(f.min()) >= 0.0 and float(f.max()) <= 1.0


def _minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = _finite_range(a)
    return (a - lo) / (hi - lo) if hi - lo > 1e-12 else np.zeros_like(a)


def resize_bilinear(a: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D map, half-pixel centres (like PIL / ``align_corners=False``).

    Numpy only so overlays need no torch. NaNs propagate to the neighbouring output pixels.

    Args:
        a: (h, w) array.
        out_hw: (H, W) output size.

    Returns:
        (H, W) float64 array.
    """
    src = _array(a, 2, "resize_bilinear")
    oh, ow = _grid(out_hw, "out_hw")
    out = src
    for axis, n_out in ((0, oh), (1, ow)):
        n_in = out.shape[axis]
        if n_in == n_out:
            continue
        pos = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1.0)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        t = pos - lo
        a_lo = np.take(out, lo, axis=axis)
        a_hi = np.take(out, hi, axis=axis)
        shape = [1, 1]
        shape[axis] = n_out
        t = t.reshape(shape)
        out = a_lo * (1.0 - t) + a_hi * t
    return out


# --------------------------------------------------------------------------------------------
# grid <-> image coordinates and Streamlit selections


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
    gh, gw = _grid(grid_hw)
    ih, iw = _grid(image_hw, "image_hw")
    r = min(max(int(row), 0), gh - 1)
    c = min(max(int(col), 0), gw - 1)
    return (c + 0.5) * iw / gw - 0.5, (r + 0.5) * ih / gh - 0.5


def click_to_cell(
    x: float, y: float, grid_hw: tuple[int, int], image_hw: tuple[int, int]
) -> tuple[int, int]:
    """Grid cell (row, col) containing the image point (x, y); points outside clamp to the edge.

    Args:
        x: horizontal pixel coordinate (pixel centres at integers).
        y: vertical pixel coordinate, down.
        grid_hw: (h, w) of the feature-map grid.
        image_hw: (H, W) of the image in pixels.

    Returns:
        (row, col), the inverse of ``cell_center``.
    """
    gh, gw = _grid(grid_hw)
    ih, iw = _grid(image_hw, "image_hw")
    try:
        xf, yf = float(x), float(y)
    except (TypeError, ValueError):
        raise ValueError(f"click_to_cell: x and y must be numbers, got {x!r}, {y!r}") from None
    if not (math.isfinite(xf) and math.isfinite(yf)):
        raise ValueError(f"click_to_cell: x and y must be finite, got {x!r}, {y!r}")
    # a tiny epsilon keeps exact cell centres (computed in floating point) in their own cell
    col = math.floor((xf + 0.5) * gw / iw + 1e-9)
    row = math.floor((yf + 0.5) * gh / ih + 1e-9)
    return min(max(row, 0), gh - 1), min(max(col, 0), gw - 1)


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """dict access that also works on attribute-style objects (Streamlit's PlotlyState)."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    try:
        return obj[key]
    except (KeyError, TypeError, IndexError, AttributeError):
        return getattr(obj, key, default)


def selection_to_cells(
    selection: Any, grid_hw: tuple[int, int], image_hw: tuple[int, int]
) -> list[tuple[int, int]]:
    """Cells picked in a Streamlit plotly selection event, in click order, without duplicates.

    Uses each point's ``customdata`` [row, col] (what ``click_grid_figure`` attaches) and falls
    back to its x / y. Points that carry neither are ignored.

    Args:
        selection: the value ``st.plotly_chart(..., on_select="rerun")`` returns (a dict or the
            attribute-style PlotlyState), its ``selection`` part, or None.
        grid_hw: (h, w) of the grid.
        image_hw: (H, W) of the image in pixels.

    Returns:
        list of (row, col).
    """
    gh, gw = _grid(grid_hw)
    sel = _get(selection, "selection", None)
    if sel is None:
        sel = selection
    points = _get(sel, "points", None) or []
    cells: list[tuple[int, int]] = []
    for p in points:
        cell = None
        cd = _get(p, "customdata", None)
        if isinstance(cd, (list, tuple, np.ndarray)) and len(cd) >= 2:
            try:
                r, c = int(cd[0]), int(cd[1])
                if 0 <= r < gh and 0 <= c < gw:
                    cell = (r, c)
            except (TypeError, ValueError):
                cell = None
        if cell is None:
            x, y = _get(p, "x", None), _get(p, "y", None)
            try:
                cell = click_to_cell(x, y, grid_hw, image_hw)
            except ValueError:
                continue
        if cell not in cells:
            cells.append(cell)
    return cells


# --------------------------------------------------------------------------------------------
# image and overlay traces


def _encode_jpeg(img: np.ndarray) -> str | None:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a requirement
        return None
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _image_trace(img: np.ndarray, max_side: int, name: str = "image") -> go.Image:
    """The photo as a go.Image over its full pixel extent, embedded at most ``max_side`` px."""
    ih, iw = img.shape[:2]
    scale = min(1.0, max_side / max(ih, iw))
    sh, sw = max(1, round(ih * scale)), max(1, round(iw * scale))
    small = img
    if (sh, sw) != (ih, iw):
        small = np.stack(
            [resize_bilinear(img[..., k].astype(np.float64), (sh, sw)) for k in range(3)], -1
        )
        small = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    dx, dy = iw / sw, ih / sh
    geom = dict(x0=0.5 * dx - 0.5, y0=0.5 * dy - 0.5, dx=dx, dy=dy)
    src = _encode_jpeg(small)
    if src is not None:
        return go.Image(source=src, hoverinfo="skip", name=name, **geom)
    return go.Image(z=small, hoverinfo="skip", name=name, **geom)  # pragma: no cover


def _heat_trace(
    heat: np.ndarray,
    image_hw: tuple[int, int],
    *,
    heat_side: int,
    smooth: bool = True,
    opacity: float = 1.0,
    colorscale: str = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    coloraxis: str | None = None,
    colorbar_title: str = "",
    hover: bool = True,
    name: str = "map",
) -> go.Heatmap:
    """A (h, w) map stretched over the image extent: bilinear up-sampled, or one brick per cell."""
    ih, iw = image_hw
    h, w = heat.shape
    if smooth:
        scale = min(1.0, heat_side / max(ih, iw))
        oh, ow = max(h, round(ih * scale)), max(w, round(iw * scale))
        oh, ow = min(oh, ih), min(ow, iw)
        oh, ow = max(oh, 1), max(ow, 1)
        z = resize_bilinear(heat, (oh, ow)) if (oh, ow) != (h, w) else heat
    else:
        z = heat
    zh, zw = z.shape
    dx, dy = iw / zw, ih / zh
    kw: dict[str, Any] = dict(
        z=z.astype(np.float32),
        x0=0.5 * dx - 0.5,
        dx=dx,
        y0=0.5 * dy - 0.5,
        dy=dy,
        opacity=opacity,
        name=name,
        # the browser smooths what is left of the bricks after the (capped) numpy up-sampling
        zsmooth="best" if smooth else False,
    )
    if coloraxis:
        kw["coloraxis"] = coloraxis
    else:
        kw.update(
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            colorbar=dict(title=dict(text=colorbar_title), thickness=14, len=0.9),
        )
    if hover:
        kw["hovertemplate"] = "x %{x:.0f}, y %{y:.0f}<br>value %{z:.4g}<extra></extra>"
    else:
        kw["hoverinfo"] = "skip"
    return go.Heatmap(**kw)


def _image_axes_layout(image_hw: tuple[int, int], **axis_extra: Any) -> dict:
    """Layout entries of one image panel: fixed extent, y down, equal aspect (plus extras)."""
    ih, iw = image_hw
    common = dict(showgrid=False, zeroline=False, showticklabels=False, constrain="domain")
    common.update(axis_extra)
    return dict(
        xaxis=dict(range=[-0.5, iw - 0.5], **common),
        yaxis=dict(range=[ih - 0.5, -0.5], scaleanchor="x", scaleratio=1, **common),
    )


def _image_axes(fig: go.Figure, image_hw: tuple[int, int], row=None, col=None) -> None:
    """Fixed extent, y down, equal aspect for one (sub)plot."""
    ih, iw = image_hw
    if row is None:  # one panel: a single layout update (figures rebuilt on every click)
        fig.update_layout(**_image_axes_layout(image_hw))
        return
    kw = dict(row=row, col=col)
    fig.update_xaxes(
        range=[-0.5, iw - 0.5],
        showgrid=False,
        zeroline=False,
        showticklabels=False,
        constrain="domain",
        **kw,
    )
    fig.update_yaxes(
        range=[ih - 0.5, -0.5],
        showgrid=False,
        zeroline=False,
        showticklabels=False,
        constrain="domain",
        **kw,
    )
    # equal aspect: each y axis anchors its scale to its own x axis
    for xa, ya in _axes_pairs(fig, row, col):
        fig.layout[ya].scaleanchor = xa.replace("axis", "")
        fig.layout[ya].scaleratio = 1


def _axes_pairs(fig: go.Figure, row=None, col=None) -> list[tuple[str, str]]:
    if row is None:
        return [("xaxis", "yaxis")]
    sp = fig.get_subplot(row, col)
    xa = sp.xaxis.plotly_name
    ya = sp.yaxis.plotly_name
    return [(xa, ya)]


def _layout(fig: go.Figure, title: str, height: int, **extra: Any) -> go.Figure:
    extra.setdefault("margin", _MARGIN if "<br>" not in title else dict(_MARGIN, t=90))
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=height, **extra)
    return fig


def _subplot_grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(int(cols), n))
    return math.ceil(n / cols), cols


def _overlay_extent(image: np.ndarray | None, grid_hw: tuple[int, int]) -> tuple[int, int]:
    return image.shape[:2] if image is not None else grid_hw


# --------------------------------------------------------------------------------------------
# channel attention


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
    g = _array(gates, 1, "channel_bars: gates")
    n = g.size
    if labels is not None and len(labels) != n:
        raise ValueError(f"channel_bars: {len(labels)} labels for {n} channels")
    idx = np.arange(n)
    key = np.where(np.isfinite(g), g, -np.inf)
    if top_k is not None and 0 < int(top_k) < n:
        idx = np.sort(np.argsort(-key, kind="stable")[: int(top_k)])
    if sort:
        idx = idx[np.argsort(-key[idx], kind="stable")]
    reordered = sort or len(idx) < n
    vals = g[idx]
    names = [labels[i] if labels is not None else "" for i in idx]
    x = [f"ch {i}" for i in idx] if reordered else idx
    unit = _in_unit_interval(g)
    lo, hi = _finite_range(vals)
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
    fig.update_xaxes(
        title_text="channel" + (" (by value)" if sort else ""),
        type="category" if reordered else "linear",
    )
    fig.update_yaxes(title_text="gate" if unit else "logit", range=[0, 1.02] if unit else None)
    return _layout(fig, f"{title} — {shown}" if title else shown, 340, bargap=0.1, showlegend=False)


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
    rows = [_array(gates_by_block[k], 1, f"channel_heatmap: block {k!r}") for k in names]
    width = max(r.size for r in rows)
    z = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        z[i, : r.size] = r
    unit = all(_in_unit_interval(r) for r in rows)
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
    return _layout(fig, f"Channel gates per block ({len(rows)} blocks)", height)


def pairwise_correlation(vectors_by_name: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pearson correlation between every pair of equal-length vectors (k, k); NaN if constant."""
    rows = np.stack([_array(v, 1, f"vector {k!r}") for k, v in vectors_by_name.items()])
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (centred @ centred.T) / np.outer(norms, norms)


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
    rows = [_array(gates_by_image[k], 1, f"channel_compare: {k!r}") for k in names]
    sizes = {r.size for r in rows}
    if len(sizes) != 1:
        raise ValueError(f"channel_compare: images have different channel counts {sorted(sizes)}")
    n = rows[0].size
    idx = np.arange(n)
    if top_k is not None and 0 < int(top_k) < n:
        mean = np.nanmean(np.stack(rows), axis=0)
        idx = np.argsort(-np.where(np.isfinite(mean), mean, -np.inf), kind="stable")[: int(top_k)]
    reordered = len(idx) < n
    x = [f"ch {i}" for i in idx] if reordered else idx
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
    unit = all(_in_unit_interval(r) for r in rows)
    fig.update_xaxes(
        title_text="channel" + (" (strongest on average first)" if reordered else ""),
        type="category" if reordered else "linear",
    )
    fig.update_yaxes(title_text="gate" if unit else "value", range=[0, 1.02] if unit else None)
    head = title or f"Channel gates across {len(rows)} images"
    return _layout(
        fig,
        head,
        380,
        barmode="group",
        bargap=0.15,
        margin=dict(l=10, r=10, t=80, b=10),
        legend=dict(orientation="h", y=-0.2),
        meta=dict(correlation=corr_text),
    )


# --------------------------------------------------------------------------------------------
# spatial maps


def spatial_overlay(
    image: np.ndarray,
    heat: np.ndarray,
    opacity: float = 0.5,
    title: str = "",
    colorscale: str = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    *,
    smooth: bool = True,
    max_side: int = 768,
    heat_side: int = 256,
    height: int = 520,
    colorbar_title: str = "",
) -> go.Figure:
    """A (h, w) attention map bilinearly up-sampled over the photo, with a colour bar.

    Args:
        image: (H, W, 3) uint8 RGB.
        heat: (h, w) map on the module's grid.
        opacity: heat map opacity.
        title: figure title.
        colorscale: plotly colour scale.
        zmin: colour range minimum (default: the map's minimum).
        zmax: colour range maximum.
        smooth: False draws one brick per grid cell instead of interpolating.
        max_side: the photo is embedded at most this many pixels on its long side.
        heat_side: the up-sampled map has at most this many pixels on its long side.
        height: figure height in pixels.
        colorbar_title: label of the colour bar.

    Returns:
        go.Figure: a go.Image and a go.Heatmap in image pixel coordinates, y down.
    """
    img = _rgb_image(image)
    h = _array(heat, 2, "spatial_overlay: heat")
    ih, iw = img.shape[:2]
    heat_trace = _heat_trace(
        h,
        (ih, iw),
        heat_side=heat_side,
        smooth=smooth,
        opacity=opacity,
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        colorbar_title=colorbar_title,
    )
    fig = go.Figure(data=[_image_trace(img, max_side), heat_trace])
    sub = f"map {h.shape[0]}×{h.shape[1]} over image {ih}×{iw}"
    return _layout(
        fig,
        f"{title}<br><sup>{sub}</sup>" if title else sub,
        height,
        uirevision="overlay",
        **_image_axes_layout((ih, iw)),
    )


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
    z = _array(values, 2, "heatmap: values")
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
    return _layout(fig, title, height)


def _query_marker_trace(
    queries: Sequence[tuple[int, int]], grid_hw, image_hw, name: str = "query", showlegend=False
) -> go.Scatter:
    pts = [cell_center(r, c, grid_hw, image_hw) for r, c in queries]
    return go.Scatter(
        x=[p[0] for p in pts],
        y=[p[1] for p in pts],
        mode="markers",
        marker=_QUERY_MARKER,
        customdata=[[int(r), int(c)] for r, c in queries],
        hovertemplate="query (%{customdata[0]}, %{customdata[1]})<extra></extra>",
        name=name,
        showlegend=showlegend,
    )


def _panel_grid_layout(
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
    common = dict(showgrid=False, zeroline=False, showticklabels=False, constrain="domain")
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
        layout["annotations"].append(
            dict(
                text=titles[i],
                x=x0 + width / 2,
                y=y1,
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=16),
            )
        )
    return layout


def query_maps(
    image: np.ndarray | None,
    maps: list[np.ndarray],
    queries: list[tuple[int, int]],
    grid_hw: tuple[int, int],
    opacity: float = 0.6,
    cols: int = 4,
    titles: list[str] | None = None,
    *,
    colorscale: str = "Viridis",
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
        image: (H, W, 3) uint8 RGB, or None.
        maps: one (h', w') attention row per query, reshaped to the key grid.
        queries: (row, col) of each query on ``grid_hw``.
        grid_hw: (h, w) query grid (the module's feature map).
        opacity: heat opacity over the image.
        cols: subplots per row.
        titles: subplot titles (default "query (r, c)").
        colorscale: plotly colour scale.
        zmin: shared colour range minimum (default: over all maps).
        zmax: shared colour range maximum.
        smooth: bilinear up-sampling (False: bricks per key cell).
        max_side: photo embedding size per panel.
        heat_side: up-sampled map size per panel.

    Returns:
        go.Figure with subplots sharing ``coloraxis``.
    """
    if len(maps) == 0:
        raise ValueError("query_maps: no maps given")
    if len(maps) != len(queries):
        raise ValueError(f"query_maps: {len(maps)} maps for {len(queries)} queries")
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"query_maps: {len(titles)} titles for {len(maps)} maps")
    gh, gw = _grid(grid_hw)
    arrs = [_array(m, 2, f"query_maps: map {i}") for i, m in enumerate(maps)]
    img = _rgb_image(image) if image is not None else None
    extent = _overlay_extent(img, (gh, gw))
    n_rows, n_cols = _subplot_grid(len(arrs), cols)
    titles = titles or [f"query ({int(r)}, {int(c)})" for r, c in queries]
    # One layout dict instead of make_subplots + per-axis updates: this figure is rebuilt on every
    # query click, and plotly's per-property updates were ~2/3 of its cost.
    traces = []
    for i, (m, q) in enumerate(zip(arrs, queries)):
        axes = {"xaxis": f"x{i + 1 if i else ''}", "yaxis": f"y{i + 1 if i else ''}"}
        if img is not None:
            traces.append(_image_trace(img, max_side).update(**axes))
        heat = _heat_trace(
            m,
            extent,
            heat_side=heat_side,
            smooth=smooth and img is not None,
            opacity=opacity if img is not None else 1.0,
            coloraxis="coloraxis",
            name=titles[i],
        )
        traces.append(heat.update(**axes))
        traces.append(_query_marker_trace([q], (gh, gw), extent).update(**axes))
    v_space = 0.08 / max(1, n_rows - 1) if n_rows > 1 else 0.0
    layout = _panel_grid_layout(len(arrs), n_rows, n_cols, extent, titles, 0.02, v_space)
    lo, hi = _finite_range(*arrs)
    layout["coloraxis"] = dict(
        colorscale=colorscale,
        cmin=lo if zmin is None else zmin,
        cmax=hi if zmax is None else zmax,
        colorbar=dict(title=dict(text="attention"), thickness=14),
    )
    layout["showlegend"] = False
    fig = go.Figure(data=traces, layout=layout)
    key_hw = {a.shape for a in arrs}
    sub = f"query grid {gh}×{gw}, key grid " + ", ".join(f"{a}×{b}" for a, b in sorted(key_hw))
    return _layout(
        fig,
        f"Attention maps of {len(arrs)} queries<br><sup>{sub}</sup>",
        80 + _PANEL_HEIGHT * n_rows,
        uirevision="query-maps",
    )


def click_grid_figure(
    image: np.ndarray,
    grid_hw: tuple[int, int],
    queries: Sequence[tuple[int, int]] = (),
    heat: np.ndarray | None = None,
    opacity: float = 0.5,
    *,
    title: str = "Click a cell to choose a query",
    colorscale: str = "Viridis",
    show_grid: bool = True,
    max_side: int = 768,
    heat_side: int = 256,
    height: int = 520,
    uirevision: str = "click-grid",
) -> go.Figure:
    """The photo with one invisible, selectable point per grid cell, for click-to-query.

    Every cell centre carries ``customdata`` = [row, col]; with ``hovermode="closest"`` and no hover
    distance cutoff a click anywhere in a cell picks that cell's point (the nearest centre on a
    regular grid is the cell's own). ``st.plotly_chart(fig, on_select="rerun",
    selection_mode="points")`` then returns it; ``selection_to_cells`` decodes the event. Chosen
    queries are visible red markers in a second trace.

    Args:
        image: (H, W, 3) uint8 RGB.
        grid_hw: (h, w) of the module's grid.
        queries: cells already chosen.
        heat: optional (h', w') map drawn over the image.
        opacity: heat opacity.
        title: figure title.
        colorscale: colour scale of the heat.
        show_grid: draw faint cell boundaries (only for grids up to 32 cells a side).
        max_side: photo embedding size.
        heat_side: up-sampled heat size.
        height: figure height.
        uirevision: keeps zoom and selection across Streamlit reruns.

    Returns:
        go.Figure; trace named "cells" is the click target, trace "queries" the chosen cells.
    """
    img = _rgb_image(image)
    gh, gw = _grid(grid_hw)
    ih, iw = img.shape[:2]
    fig = go.Figure()
    fig.add_trace(_image_trace(img, max_side))
    hm = None
    if heat is not None:
        hm = _array(heat, 2, "click_grid_figure: heat")
        fig.add_trace(
            _heat_trace(
                hm,
                (ih, iw),
                heat_side=heat_side,
                opacity=opacity,
                colorscale=colorscale,
                hover=False,
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
    qt = _query_marker_trace(q, (gh, gw), (ih, iw), name="queries")
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
    return _layout(
        fig,
        f"{title}<br><sup>{sub}</sup>",
        height,
        **_image_axes_layout((ih, iw), fixedrange=True),
        clickmode="event+select",
        dragmode="pan",
        hovermode="closest",
        hoverdistance=-1,
        uirevision=uirevision,
        showlegend=False,
    )


# --------------------------------------------------------------------------------------------
# A^2 double attention


def a2_argmax_entropy(distribute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position: the descriptor with the largest distribute weight and the normalised entropy.

    Entropy is -sum p log p / log n, so 0 = all weight on one descriptor, 1 = uniform (n = 1 gives 0).

    Args:
        distribute: (n, h, w) weights summing to 1 over n.

    Returns:
        (argmax (h, w) int, entropy (h, w) float in [0, 1]).
    """
    d = _array(distribute, 3, "distribute")
    n = d.shape[0]
    p = np.clip(d, 0.0, None)
    s = p.sum(axis=0, keepdims=True)
    p = np.divide(p, s, out=np.full_like(p, 1.0 / n), where=s > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=0)
    ent = ent / math.log(n) if n > 1 else np.zeros_like(ent)
    return d.argmax(axis=0), np.clip(ent, 0.0, 1.0)


def _normalised_entropy_1d(p: np.ndarray) -> float:
    return float(a2_argmax_entropy(p.reshape(-1, 1, 1))[1][0, 0])


def a2_gather_grid(
    gather: np.ndarray,
    image: np.ndarray | None = None,
    max_maps: int = 16,
    cols: int = 4,
    *,
    order: str = "peaked",
    opacity: float = 0.6,
    colorscale: str = "Viridis",
    max_side: int = 320,
    heat_side: int = 96,
) -> go.Figure:
    """The A² gather maps (each a softmax over positions) as a grid of small maps.

    ``order="peaked"`` shows the most concentrated maps first (lowest normalised entropy),
    ``order="index"`` keeps descriptor order; the title says which. Colour is the share of the
    map's mass at each position times N (1 = uniform), so diffuse and peaked maps share one scale.

    Args:
        gather: (n, h, w) maps, each summing to 1 over h*w.
        image: optional (H, W, 3) uint8 photo to draw the maps over.
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
    g = _array(gather, 3, "a2_gather_grid: gather")
    if order not in ("peaked", "index"):
        raise ValueError(f"a2_gather_grid: order must be 'peaked' or 'index', got {order!r}")
    n, h, w = g.shape
    flat = g.reshape(n, -1)
    ent = np.array([_normalised_entropy_1d(f) for f in flat])
    idx = np.argsort(ent, kind="stable") if order == "peaked" else np.arange(n)
    idx = idx[: max(1, int(max_maps))]
    rel = g * (h * w)  # 1 = uniform share
    img = _rgb_image(image) if image is not None else None
    extent = _overlay_extent(img, (h, w))
    n_rows, n_cols = _subplot_grid(len(idx), cols)
    titles = [f"map {k} · H={ent[k]:.2f}" for k in idx]
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=titles,
        horizontal_spacing=0.02,
        vertical_spacing=0.08 / max(1, n_rows - 1) if n_rows > 1 else 0.0,
    )
    for i, k in enumerate(idx):
        r, c = divmod(i, n_cols)
        if img is not None:
            fig.add_trace(_image_trace(img, max_side), row=r + 1, col=c + 1)
        fig.add_trace(
            _heat_trace(
                rel[k],
                extent,
                heat_side=heat_side,
                smooth=img is not None,
                opacity=opacity if img is not None else 1.0,
                coloraxis="coloraxis",
                name=f"map {k}",
            ),
            row=r + 1,
            col=c + 1,
        )
        _image_axes(fig, extent, row=r + 1, col=c + 1)
    lo, hi = _finite_range(*[rel[k] for k in idx])
    fig.update_layout(
        coloraxis=dict(
            colorscale=colorscale,
            cmin=0.0,
            cmax=max(hi, 1.0),
            colorbar=dict(title=dict(text="mass × N"), thickness=14),
        ),
        showlegend=False,
    )
    how = "most peaked first (lowest entropy)" if order == "peaked" else "in descriptor order"
    head = f"A² gather maps: {len(idx)} of {n}, {how}<br><sup>H = entropy / log N; colour 1 = uniform</sup>"
    return _layout(fig, head, 80 + _PANEL_HEIGHT * n_rows)


def _categorical_colorscale(n: int) -> list[list[Any]]:
    palette = qualitative.Light24 if n > 10 else qualitative.Plotly
    scale: list[list[Any]] = []
    for k in range(n):
        color = palette[k % len(palette)]
        scale.append([k / n, color])
        scale.append([(k + 1) / n, color])
    return scale


def a2_distribute_maps(distribute: np.ndarray) -> go.Figure:
    """A² distribute step: which descriptor each position takes most from, and how selective it is.

    Args:
        distribute: (n, h, w) weights summing to 1 over n at each position.

    Returns:
        go.Figure with two heatmaps side by side: argmax descriptor (categorical colours) and
        entropy / log n (0 = one descriptor, 1 = uniform).
    """
    d = _array(distribute, 3, "a2_distribute_maps: distribute")
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
        _image_axes(fig, (h, w), row=1, col=col)
        fig.update_xaxes(showticklabels=True, row=1, col=col)
        fig.update_yaxes(showticklabels=True, row=1, col=col)
    step = max(1, n // 10)
    fig.update_layout(
        coloraxis=dict(
            colorscale=_categorical_colorscale(n),
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
    return _layout(fig, head, 420)


def a2_position_distribution(distribute: np.ndarray, row: int, col: int) -> go.Figure:
    """Bar chart of the n distribute weights at one position.

    Args:
        distribute: (n, h, w) weights summing to 1 over n.
        row: position row.
        col: position column.

    Returns:
        go.Figure with one go.Bar (colours match ``a2_distribute_maps``).
    """
    d = _array(distribute, 3, "a2_position_distribution: distribute")
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
    return _layout(fig, head, 320, showlegend=False)


def descriptor_matrix(descriptors: np.ndarray) -> go.Figure:
    """The A² global descriptors G (m, n) as a diverging heatmap centred at 0.

    Args:
        descriptors: (m, n) array, m channels by n descriptors.

    Returns:
        go.Figure with one go.Heatmap.
    """
    g = _array(descriptors, 2, "descriptor_matrix: descriptors")
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


def distance_matrix(d: np.ndarray, labels: list[str], title: str = "") -> go.Figure:
    """k x k distance matrix with the values written in the cells.

    Args:
        d: (k, k) distances, e.g. ``viz.stats.cosine_distance_matrix`` of k attention maps.
        labels: name of each row / column.
        title: figure title.

    Returns:
        go.Figure with one go.Heatmap (colour from 0).
    """
    m = _array(d, 2, "distance_matrix: d")
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"distance_matrix: expected a square matrix, got {m.shape}")
    if len(labels) != m.shape[0]:
        raise ValueError(
            f"distance_matrix: {len(labels)} labels for a {m.shape[0]}×{m.shape[0]} matrix"
        )
    labels = [str(s) for s in labels]
    if len(set(labels)) != len(labels):  # categorical axes merge duplicates
        labels = [f"{s} [{i}]" for i, s in enumerate(labels)]
    k = m.shape[0]
    # (1 - cos)/2 of identical rows comes out as -1e-9 in float arithmetic: a distance is >= 0, and
    # the cell text must never read "-0.000"
    m = np.where(np.isfinite(m), np.maximum(m, 0.0), m)
    lo, hi = _finite_range(m)
    fig = heatmap(
        m,
        title=title or f"Distances between {k} maps",
        colorscale="Viridis",
        zmin=0.0,
        zmax=max(hi, 1e-6),
        text_fmt=".3f" if k <= 16 else None,
        x_labels=labels,
        y_labels=labels,
        height=int(min(720, max(340, 160 + 36 * k))),
        colorbar_title="distance",
    )
    fig.update_traces(hovertemplate="%{y} vs %{x}<br>distance %{z:.4f}<extra></extra>")
    return fig


# --------------------------------------------------------------------------------------------
# GCNet Table 1


def _lookup(row: Mapping[str, Any] | None, keys: Sequence[str]) -> float:
    if not row:
        return float("nan")
    for k in keys:
        if k in row and row[k] is not None:
            try:
                return float(row[k])
            except (TypeError, ValueError):
                return float("nan")
    return float("nan")


def _forms(*dicts: Mapping[str, Any] | None) -> list[str]:
    present = {k.removeprefix("nl_") for d in dicts if d for k in d}
    unknown = present - set(NL_FORMS)
    if unknown:
        raise ValueError(
            f"unknown Non-local forms {sorted(unknown)}; expected some of {list(NL_FORMS)}"
        )
    return [f for f in NL_FORMS if f in present] or list(NL_FORMS)


def _strip(d: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k.removeprefix("nl_"): v for k, v in (d or {}).items()}


def table1_frame(
    measured: Mapping[str, Mapping[str, float | None]],
    zoo: Mapping[str, Mapping[str, float | None]] | None = None,
) -> pd.DataFrame:
    """Table-1 statistics of this image, the zoo and GCNet side by side.

    Args:
        measured: form -> ``viz.stats.query_independence`` result ("cos_input", "cos_output",
            "cos_att", "jsd_att"); forms as in ``viz.paper.NL_FORMS`` (an "nl_" prefix is fine).
        zoo: form -> held-out statistics ("input", "output", "att", "jsd"), or None.

    Returns:
        DataFrame indexed by (form, source) with columns input, output, att, JSD (NaN where a value
        does not exist, e.g. JSD of non-softmax forms). Forms are those in ``measured`` / ``zoo``
        (all four when both are empty); sources: this image, zoo (held-out), GCNet COCO,
        GCNet Kinetics.
    """
    measured, zoo = _strip(measured), _strip(zoo)
    records = []
    for form in _forms(measured, zoo):
        title = NL_FORM_TITLES[form]
        if form in measured:
            m = measured[form]
            records.append(
                (
                    title,
                    SOURCE_MEASURED,
                    *[_lookup(m, (_MEASURED_KEYS[s], _ZOO_KEYS[s])) for s in _STATS],
                )
            )
        if form in zoo:
            records.append(
                (
                    title,
                    SOURCE_ZOO,
                    *[_lookup(zoo[form], (_ZOO_KEYS[s], _MEASURED_KEYS[s])) for s in _STATS],
                )
            )
        for source, ds in ((SOURCE_COCO, "COCO"), (SOURCE_KINETICS, "Kinetics")):
            records.append(
                (title, source, *[_lookup(GCNET_TABLE1[ds][form], (_ZOO_KEYS[s],)) for s in _STATS])
            )
    df = pd.DataFrame.from_records(records, columns=["form", "source", *_STATS])
    return df.set_index(["form", "source"])


def table1_comparison(
    measured: Mapping[str, Mapping[str, float | None]],
    zoo: Mapping[str, Mapping[str, float | None]] | None = None,
) -> go.Figure:
    """Grouped bars of the Table-1 statistics per Non-local form: this image vs zoo vs GCNet.

    Args:
        measured: form -> ``viz.stats.query_independence`` result (see ``table1_frame``).
        zoo: form -> held-out statistics ("input", "output", "att", "jsd"), or None.

    Returns:
        go.Figure with one subplot per form, stats on x, one coloured bar per source.
    """
    df = table1_frame(measured, zoo)
    forms = list(dict.fromkeys(df.index.get_level_values("form")))
    numeric = df.to_numpy(dtype=float)
    top = float(np.nanmax(numeric)) if np.isfinite(numeric).any() else 0.5
    y_range = [0, max(0.5, top * 1.08)]
    # one layout dict (no make_subplots, no per-trace add): this figure is rebuilt for every image
    n = max(1, len(forms))
    space = 0.03
    width = (1.0 - space * (n - 1)) / n
    layout: dict = {"annotations": []}
    traces = []
    seen: set[str] = set()
    for j, form in enumerate(forms):
        sfx = str(j + 1) if j else ""
        x0 = j * (width + space)
        layout[f"xaxis{sfx}"] = dict(domain=[x0, x0 + width], anchor=f"y{sfx}")
        layout[f"yaxis{sfx}"] = dict(
            anchor=f"x{sfx}",
            range=y_range,
            **({"matches": "y", "showticklabels": False} if j else {}),
            **({} if j else {"title": dict(text="mean distance between positions")}),
        )
        layout["annotations"].append(
            dict(
                text=form,
                x=x0 + width / 2,
                y=1.0,
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=16),
            )
        )
        sub = df.loc[form]
        for source in sub.index:
            vals = sub.loc[source, list(_STATS)].to_numpy(dtype=float)
            traces.append(
                dict(
                    type="bar",
                    x=list(_STATS),
                    y=np.where(np.isfinite(vals), vals, np.nan),
                    name=source,
                    legendgroup=source,
                    showlegend=source not in seen,
                    marker=dict(color=_SOURCE_COLORS.get(source)),
                    text=[fmt_num(v) for v in vals],
                    textposition="none",
                    hovertemplate=f"{form}<br>{source}<br>%{{x}}: %{{text}}<extra></extra>",
                    xaxis=f"x{sfx}",
                    yaxis=f"y{sfx}",
                )
            )
            seen.add(source)
        if not np.isfinite(sub["JSD"].to_numpy(dtype=float)).any():
            layout["annotations"].append(
                dict(
                    text="n/a<br>(rows are not<br>distributions)",
                    x="JSD",
                    y=0.0,
                    yanchor="bottom",
                    xref=f"x{sfx}",
                    yref=f"y{sfx}",
                    showarrow=False,
                    font=dict(size=10, color="grey"),
                )
            )
    fig = go.Figure(data=traces, layout=layout)
    head = (
        "Query independence: this image vs GCNet Table 1<br><sup>(1 − cos)/2 over all position "
        "pairs for input x, output z − x and attention rows; JSD only for softmax forms</sup>"
    )
    return _layout(
        fig,
        head,
        420,
        barmode="group",
        bargap=0.2,
        legend=dict(orientation="h", y=-0.12),
        margin=dict(l=10, r=10, t=80, b=40),
    )


# --------------------------------------------------------------------------------------------
# several maps over one image


def _panels_over_image(
    image: np.ndarray,
    panels: Mapping[str, np.ndarray | None],
    cols: int,
    opacity: float,
    normalize: bool,
    colorscale: str,
    colorbar_title: str,
    max_side: int,
    heat_side: int,
) -> tuple[go.Figure, int]:
    img = _rgb_image(image)
    ih, iw = img.shape[:2]
    names = list(panels)
    n_rows, n_cols = _subplot_grid(len(names), cols)
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=names,
        horizontal_spacing=0.02,
        vertical_spacing=0.08 / max(1, n_rows - 1) if n_rows > 1 else 0.0,
    )
    arrays = {k: None if v is None else _array(v, 2, f"map {k!r}") for k, v in panels.items()}
    shown = [a for a in arrays.values() if a is not None]
    lo, hi = (0.0, 1.0) if normalize else _finite_range(*shown) if shown else (0.0, 1.0)
    for i, name in enumerate(names):
        r, c = divmod(i, n_cols)
        fig.add_trace(_image_trace(img, max_side), row=r + 1, col=c + 1)
        a = arrays[name]
        if a is None:
            sp = fig.get_subplot(r + 1, c + 1)
            fig.add_annotation(
                text="channel-only<br>(no spatial map)",
                x=(iw - 1) / 2,
                y=(ih - 1) / 2,
                xref=sp.xaxis.plotly_name.replace("axis", ""),
                yref=sp.yaxis.plotly_name.replace("axis", ""),
                showarrow=False,
                font=dict(size=13, color="white"),
                bgcolor="rgba(0,0,0,0.55)",
            )
        else:
            fig.add_trace(
                _heat_trace(
                    _minmax(a) if normalize else a,
                    (ih, iw),
                    heat_side=heat_side,
                    opacity=opacity,
                    coloraxis="coloraxis",
                    name=name,
                ),
                row=r + 1,
                col=c + 1,
            )
        _image_axes(fig, (ih, iw), row=r + 1, col=c + 1)
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
    fig, n_rows = _panels_over_image(
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
    return _layout(fig, f"Attribution vs attention<br><sup>{note}</sup>", 80 + 300 * n_rows)


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
    fig, n_rows = _panels_over_image(
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
    return _layout(
        fig, f"Every module on one image<br><sup>{note}</sup>", 80 + _PANEL_HEIGHT * n_rows
    )


# --------------------------------------------------------------------------------------------
# small raster layers (data URIs) for the in-browser click grid and composited map panels


def _png_uri(rgba: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _downscaled(img: np.ndarray, max_side: int) -> np.ndarray:
    ih, iw = img.shape[:2]
    scale = min(1.0, max_side / max(ih, iw))
    if scale >= 1.0:
        return img
    from PIL import Image

    size = (max(1, round(iw * scale)), max(1, round(ih * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.Resampling.BILINEAR))


@functools.lru_cache(maxsize=8)
def _colour_lut(colorscale: str) -> np.ndarray:
    """256 colours of a plotly colour scale, (256, 3) float."""
    from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

    samples = sample_colorscale(get_colorscale(colorscale), list(np.linspace(0, 1, 256)))
    return np.array([unlabel_rgb(c) for c in samples], dtype=float)


def colorize(heat: np.ndarray, colorscale: str = "Viridis", lo=None, hi=None) -> np.ndarray:
    """(h, w) map -> (h, w, 3) uint8 colours of a plotly colour scale (min-max unless lo / hi)."""
    a = _array(heat, 2, "colorize: heat")
    flo, fhi = _finite_range(a)
    lo = flo if lo is None else float(lo)
    hi = fhi if hi is None else float(hi)
    t = np.clip((np.nan_to_num(a, nan=lo) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    lut = _colour_lut(colorscale)  # one fancy index: no per-pixel colour parsing
    return np.clip(np.rint(lut[np.rint(t * 255).astype(int)]), 0, 255).astype(np.uint8)


def click_grid_payload(
    image: np.ndarray,
    grid_hw: tuple[int, int],
    queries: Sequence[tuple[int, int]] = (),
    heat: np.ndarray | None = None,
    opacity: float = 0.35,
    *,
    max_side: int = 512,
) -> dict:
    """What the in-browser click grid draws (JSON): the photo as a JPEG data URI of at most
    ``max_side`` px, the optional heat map as a PNG of its own grid size (the browser stretches
    it), grid size, image size and chosen cells."""
    img = _rgb_image(image)
    gh, gw = _grid(grid_hw)
    ih, iw = img.shape[:2]
    out = {
        "image": _encode_jpeg(_downscaled(img, max_side)),
        "width": int(iw),
        "height": int(ih),
        "rows": gh,
        "cols": gw,
        "queries": [[int(r), int(c)] for r, c in queries],
        "opacity": float(opacity),
        "heat": None,
    }
    if heat is not None:
        out["heat"] = _png_uri(colorize(heat))
    return out


def blend(image: np.ndarray, heat: np.ndarray, opacity: float, lo=None, hi=None, *, side=160):
    """The photo at ``side`` px with ``heat`` (bilinear on its grid) blended over it: (s, s', 3)."""
    small = _downscaled(_rgb_image(image), side).astype(np.float64)
    up = resize_bilinear(_array(heat, 2, "blend: heat"), small.shape[:2])
    colours = colorize(up, lo=lo, hi=hi).astype(np.float64)
    a = float(np.clip(opacity, 0.0, 1.0))
    return np.clip(np.rint((1 - a) * small + a * colours), 0, 255).astype(np.uint8)


def _colour_panel(heat, out_hw, colorscale, lo, hi) -> np.ndarray:
    """(h, w) map -> colours at ``out_hw``: up-sampled (bilinear, in float32, by PIL: C speed) and
    then coloured; (H, W, 3) float64."""
    from PIL import Image

    oh, ow = out_hw
    up = np.asarray(
        Image.fromarray(np.asarray(heat, dtype=np.float32), mode="F").resize(
            (ow, oh), Image.Resampling.BILINEAR
        )
    )
    return colorize(up, colorscale, lo, hi).astype(np.float64)


def composited_query_maps(
    image: np.ndarray,
    maps: list[np.ndarray],
    queries: list[tuple[int, int]],
    grid_hw: tuple[int, int],
    opacity: float = 0.6,
    cols: int = 4,
    titles: list[str] | None = None,
    *,
    side: int = 160,
    colorscale: str = "Viridis",
    title: str | None = None,
    normalize: bool = False,
) -> go.Figure:
    """Like :func:`query_maps`, but light to send and to draw: every panel (photo and map blended
    at ``side`` px, the size a panel is drawn at) is tiled into ONE mosaic JPEG on one pair of
    axes, instead of a photo trace and a float heat map on a subplot per query. A 4×4 grid costs
    ~100 KB and one plot instead of 16 (the browser's drawing time dominated the page).
    Titles are annotations, query cells one marker trace, a 1×2 invisible heat map carries the
    shared colour bar; ``layout.meta["queries"]`` lists the panels' queries in order.

    ``queries=None`` draws plain map panels (no markers; ``titles`` then name them) and
    ``normalize`` min-max scales each map (for maps in different units side by side)."""
    if len(maps) == 0:
        raise ValueError("composited_query_maps: no maps given")
    marked = queries is not None
    if not marked:
        queries = [(0, 0)] * len(maps)
    if len(maps) != len(queries):
        raise ValueError(f"composited_query_maps: {len(maps)} maps for {len(queries)} queries")
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"composited_query_maps: {len(titles)} titles for {len(maps)} maps")
    gh, gw = _grid(grid_hw)
    img = _rgb_image(image)
    ih, iw = img.shape[:2]
    arrs = [_array(m, 2, f"composited_query_maps: map {i}") for i, m in enumerate(maps)]
    if normalize:
        arrs = [_minmax(m) for m in arrs]
    lo, hi = (0.0, 1.0) if normalize else _finite_range(*arrs)
    titles = titles or [f"query ({int(r)}, {int(c)})" for r, c in queries]
    n_rows, n_cols = _subplot_grid(len(arrs), cols)
    small = _downscaled(img, side).astype(np.float64)
    ph, pw = small.shape[:2]
    gap, band = max(4, pw // 30), max(14, ph // 8)  # between panels; title band above each
    height_px = n_rows * (band + ph) + (n_rows - 1) * gap
    width_px = n_cols * pw + (n_cols - 1) * gap
    mosaic = np.full((height_px, width_px, 3), 255, dtype=np.uint8)
    a = float(np.clip(opacity, 0.0, 1.0))
    annotations, mx, my = [], [], []
    for i, (m, (qr, qc)) in enumerate(zip(arrs, queries)):
        r, c = divmod(i, n_cols)
        x0, y0 = c * (pw + gap), r * (band + ph + gap) + band
        colours = _colour_panel(m, (ph, pw), colorscale, lo, hi)
        mosaic[y0 : y0 + ph, x0 : x0 + pw] = np.clip(
            np.rint((1 - a) * small + a * colours), 0, 255
        ).astype(np.uint8)
        cx, cy = cell_center(qr, qc, (gh, gw), (ph, pw))
        mx.append(x0 + cx)
        my.append(y0 + cy)
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
        go.Image(source=_encode_jpeg(mosaic), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"),
        go.Scatter(
            x=mx if marked else [],
            y=my if marked else [],
            mode="markers",
            marker=_QUERY_MARKER,
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
    axis = dict(showgrid=False, zeroline=False, showticklabels=False, constrain="domain")
    layout = dict(
        xaxis=dict(range=[-0.5, width_px - 0.5], **axis),
        yaxis=dict(range=[height_px - 0.5, -0.5], scaleanchor="x", scaleratio=1, **axis),
        annotations=annotations,
        coloraxis=dict(
            colorscale=colorscale,
            cmin=lo,
            cmax=hi,
            colorbar=dict(
                title=dict(text="relative (per map)" if normalize else "attention"), thickness=14
            ),
        ),
        showlegend=False,
        meta=dict(queries=[[int(r), int(c)] for r, c in queries] if marked else []),
    )
    fig = go.Figure(data=traces, layout=layout)
    key_hw = {x.shape for x in arrs}
    sub = f"query grid {gh}×{gw}, key grid " + ", ".join(f"{p}×{q}" for p, q in sorted(key_hw))
    if title is None:
        title = f"Attention maps of {len(arrs)} queries<br><sup>{sub}</sup>"
    return _layout(
        fig,
        title,
        int(90 + 240 * n_rows * min(1.0, 4 / n_cols) * (band + ph) / max(pw, 1)),
        uirevision="query-maps",
    )
