"""What the in-browser explorer is sent, pure: one JSON payload per (model, image, layer).

Hovering never runs Python, so everything a hover can show travels in one payload: the picture as a
small JPEG, where the model's square sits on it, the grid, and the maps as uint8 rows quantised per
row (each row's offset and step travel along, so values can be read back). Four modes:
``queries`` (Non-local rows), ``a2`` (distribute weights + gather maps), ``map`` (one spatial map)
and ``channels`` (gates of several blocks). The JavaScript is ``viz/figures/web/explorer.mjs``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
from skimage.measure import block_reduce

from viz.figures.raster import colour_lut, downscaled, encode_jpeg, grid_shape, rgb_image

MAX_CELLS = 256 * 256  # N x N' above this: queries subsampled, keys block-averaged
IMAGE_SIDE = 640  # the JPEG's long side at most (the picture is drawn at <= 560 px)


def _b64(data: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(data, dtype=np.uint8).tobytes()).decode("ascii")


def significant(v: float, digits: int = 6) -> float:
    """``v`` rounded to ``digits`` significant digits: the JSON carries no digits the browser
    cannot show."""
    return float(f"{v:.{digits}g}")


def quantise_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row to uint8 over its own range: ``value ≈ offset + q * step``.

    Args:
        rows: (R, K) floats; non-finite values are read as the row's minimum.

    Returns:
        ``(q, offset, step)``: (R, K) uint8 and two (R,) float64 arrays; the error of the read-back
        value is at most step / 2 = (row max - row min) / 510. A constant row gets step 0.
    """
    a = np.asarray(rows, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"quantise_rows: expected a non-empty (R, K) array, got {a.shape}")
    finite = np.isfinite(a)
    lo = np.where(finite, a, np.inf).min(axis=1)
    hi = np.where(finite, a, -np.inf).max(axis=1)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    step = (hi - lo) / 255.0
    safe = np.where(step > 0, step, 1.0)
    filled = np.where(finite, a, lo[:, None])
    q = np.clip(np.rint((filled - lo[:, None]) / safe[:, None]), 0, 255).astype(np.uint8)
    return q, lo, step


def dequantise_rows(q: np.ndarray, offset: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The inverse of :func:`quantise_rows` (what the browser computes): (R, K) float64."""
    return np.asarray(offset)[:, None] + np.asarray(q, dtype=np.float64) * np.asarray(step)[:, None]


def block_mean(grid: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks of the last two axes (edge blocks may be smaller).

    Args:
        grid: (..., h, w) array.
        factor: block side, >= 1.
    """
    a = np.asarray(grid, dtype=np.float64)
    if factor <= 1:
        return a
    # sums over zero-padded edge blocks, over the cells each block really has (func=np.mean would
    # count the padding)
    sums = block_reduce(a, (1,) * (a.ndim - 2) + (factor, factor), np.sum)
    return sums / block_reduce(np.ones(a.shape[-2:]), factor, np.sum)


def downsample_factors(
    grid_hw: tuple[int, int], keys_hw: tuple[int, int], max_cells: int = MAX_CELLS
) -> tuple[int, int]:
    """(query stride, key block) so that the sent rows hold at most ``max_cells`` values; the
    larger of the two grids is coarsened first."""
    fq = fk = 1

    def size(hw, f):
        return -(-hw[0] // f) * -(-hw[1] // f)

    while size(grid_hw, fq) * size(keys_hw, fk) > max_cells:
        if size(grid_hw, fq) >= size(keys_hw, fk) and size(grid_hw, fq) > 1:
            fq += 1
        elif size(keys_hw, fk) > 1:
            fk += 1
        else:
            break
    return fq, fk


def picture_fields(image, display, view_box) -> dict:
    """The picture drawn under the grid and the box the grid covers, in the JPEG's pixels: the
    user's whole picture with the model's square marked when ``display`` / ``view_box`` are
    given, else the crop the model saw (box = the whole crop)."""
    if display is not None and view_box is not None:
        pic = rgb_image(display)
        x0, y0, x1, y1 = (float(v) for v in view_box)
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"view_box: expected x1 > x0 and y1 > y0, got {tuple(view_box)}")
    else:
        pic = rgb_image(image)
        x0, y0, x1, y1 = 0.0, 0.0, float(pic.shape[1]), float(pic.shape[0])
    small = downscaled(pic, IMAGE_SIDE)
    s = small.shape[1] / pic.shape[1]
    return {
        "image": encode_jpeg(small),
        "iw": int(small.shape[1]),
        "ih": int(small.shape[0]),
        "box": [round(x0 * s, 2), round(y0 * s, 2), round(x1 * s, 2), round(y1 * s, 2)],
    }


def lut_field(colorscale: str) -> str:
    """The colour scale as 256 RGB triples, base64 (the browser maps a uint8 value through it)."""
    return _b64(np.clip(np.rint(colour_lut(colorscale)), 0, 255).reshape(-1))


def rows_fields(rows: np.ndarray, prefix: str = "") -> dict:
    """``rows`` quantised (:func:`quantise_rows`) as the payload's ``rows`` / ``offset`` /
    ``step`` fields (each name after ``prefix``)."""
    q, lo, step = quantise_rows(rows)
    return {
        f"{prefix}rows": _b64(q),
        f"{prefix}offset": [significant(v, 7) for v in lo],
        f"{prefix}step": [significant(v, 7) for v in step],
    }


def _every_cell(h: int, w: int) -> dict:
    """The grid fields of a payload that sends every cell of an (h, w) grid, keys on the same
    grid (A² and map modes): nothing subsampled, so the sent grid is the full one."""
    return {
        "grid": [h, w],
        "full": [h, w],
        "qrows": list(range(h)),
        "qcols": list(range(w)),
        "keys": [h, w],
    }


def attention_rows(
    attention, grid_hw: Sequence[int], keys_hw: Sequence[int]
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """``attention`` as float64 (N, N') rows checked against its query and key grids, with the
    two grids' (rows, cols): every Non-local payload starts from this."""
    h, w = grid_shape(grid_hw)
    kh, kw = grid_shape(keys_hw, "keys_hw")
    att = np.asarray(attention, dtype=np.float64)
    if att.shape != (h * w, kh * kw):
        raise ValueError(f"attention: expected ({h * w}, {kh * kw}), got {att.shape}")
    return att, (h, w), (kh, kw)


def queries_payload(
    image: np.ndarray,
    attention: np.ndarray,
    grid_hw: tuple[int, int],
    keys_hw: tuple[int, int],
    *,
    payload_id: str,
    display: np.ndarray | None = None,
    view_box: Sequence[float] | None = None,
    opacity: float = 0.6,
    max_pins: int = 12,
    colorscale: str = "Viridis",
    max_cells: int = MAX_CELLS,
) -> dict:
    """Non-local mode: hover a query cell to draw its row over the image; click to pin.

    Args:
        image: (H, W, 3) the crop the model saw.
        attention: (N, N') rows = queries, N = h*w, N' = kh*kw.
        grid_hw: (h, w) query grid; keys_hw: (kh, kw) key grid.
        payload_id: identity of (model, image, layer): the browser decodes a payload once per id.
        display: the user's whole picture, (H', W', 3), drawn instead of ``image`` with the grid
            over ``view_box`` (x0, y0, x1, y1 in ``display`` pixels).
        max_cells: rows above N x N' = ``max_cells`` are downsampled (queries subsampled at the
            block centres, keys block-averaged); ``note`` says so.

    Returns:
        the JSON-able payload; ``qrows`` / ``qcols`` give the query row / column of the
        original grid each sent row / column stands for (pins are sent back in those).
    """
    att, (h, w), (kh, kw) = attention_rows(attention, grid_hw, keys_hw)
    fq, fk = downsample_factors((h, w), (kh, kw), max_cells)
    qrows = [min(r + fq // 2, h - 1) for r in range(0, h, fq)]
    qcols = [min(c + fq // 2, w - 1) for c in range(0, w, fq)]
    picked = att.reshape(h, w, kh, kw)[np.ix_(qrows, qcols)]
    keys = block_mean(picked, fk)
    sh, sw = keys.shape[-2:]
    note = ""
    if fq > 1 or fk > 1:
        note = (
            f"N × N' = {h * w} × {kh * kw} is above {max_cells}: every {fq}th query "
            f"({len(qrows)}×{len(qcols)}) is sent, keys averaged in {fk}×{fk} blocks ({sh}×{sw})."
        )
    return {
        "mode": "queries",
        "id": payload_id,
        **picture_fields(image, display, view_box),
        "grid": [len(qrows), len(qcols)],
        "full": [h, w],
        "qrows": qrows,
        "qcols": qcols,
        "keys": [int(sh), int(sw)],
        **rows_fields(keys.reshape(len(qrows) * len(qcols), sh * sw)),
        "lut": lut_field(colorscale),
        "legend": "attention weight: each map from its least (dark) to its most attended key",
        "note": note,
        "opacity": float(opacity),
        "max_pins": int(max_pins),
        "pinnable": True,
    }


def a2_payload(
    image: np.ndarray,
    gather: np.ndarray,
    distribute: np.ndarray,
    *,
    payload_id: str,
    display: np.ndarray | None = None,
    view_box: Sequence[float] | None = None,
    opacity: float = 0.6,
    colorscale: str = "Viridis",
) -> dict:
    """A² mode: hover a position to see its distribution over the n descriptors and the gather
    maps it draws on (the main map is Σ_i d_i(position) · gather_i: where its input comes from).

    Args:
        gather: (n, h, w), each map sums to 1 over positions.
        distribute: (n, h, w), sums to 1 over the n descriptors at each position.
    """
    g = np.asarray(gather, dtype=np.float64)
    d = np.asarray(distribute, dtype=np.float64)
    if g.ndim != 3 or g.shape != d.shape:
        raise ValueError(f"a2: gather and distribute must be (n, h, w) alike: {g.shape}, {d.shape}")
    n, h, w = g.shape
    return {
        "mode": "a2",
        "id": payload_id,
        **picture_fields(image, display, view_box),
        **_every_cell(h, w),
        "n": n,
        **rows_fields(d.reshape(n, h * w).T),  # one row per position: its n weights
        **rows_fields(g.reshape(n, h * w), prefix="g"),  # one row per descriptor: its map
        "lut": lut_field(colorscale),
        "legend": "weight over positions (a map's lowest dark, its highest bright)",
        "note": "",
        "opacity": float(opacity),
        "max_pins": 1,
        "pinnable": True,
    }


def map_payload(
    image: np.ndarray,
    heat: np.ndarray,
    *,
    payload_id: str,
    label: str = "",
    unit: str = "map value",
    display: np.ndarray | None = None,
    view_box: Sequence[float] | None = None,
    opacity: float = 0.5,
    colorscale: str = "Viridis",
) -> dict:
    """Spatial-map mode (GC context, CBAM / BAM spatial): the map over the image; hovering a cell
    reads its value (sent exactly: a map is small) and its rank among the cells. ``unit`` names
    what the colour bar's values are (e.g. "softmax weight")."""
    m = np.asarray(heat, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"map: expected a non-empty (h, w) array, got {m.shape}")
    h, w = m.shape
    return {
        "mode": "map",
        "id": payload_id,
        "label": label,
        **picture_fields(image, display, view_box),
        **_every_cell(h, w),
        **rows_fields(m.reshape(1, -1)),
        "values": [significant(v) for v in np.nan_to_num(m).ravel()],
        "lut": lut_field(colorscale),
        "legend": f"{unit}: {np.nanmin(m):.3g} (dark) to {np.nanmax(m):.3g} (bright)",
        "note": f"colour: {np.nanmin(m):.3g} (dark) to {np.nanmax(m):.3g} (bright), this map's range",
        "opacity": float(opacity),
        "max_pins": 0,
        "pinnable": False,
    }


def channels_payload(
    blocks: Sequence[tuple[str, np.ndarray]],
    *,
    payload_id: str,
    colorscale: str = "Viridis",
) -> dict:
    """Channel-gate mode: one strip per block (channels left to right, colour = gate in [0, 1]);
    hovering a channel reads its gate, its rank in the block (1 = most open) and the block."""
    if not blocks:
        raise ValueError("channels: no block with a channel gate")
    labels, gates, ranks = [], [], []
    for label, g in blocks:
        v = np.nan_to_num(np.asarray(g, dtype=np.float64).ravel())
        if v.size == 0:
            raise ValueError(f"channels: block {label!r} has no channel")
        order = np.argsort(-v, kind="stable")
        rank = np.empty(v.size, dtype=int)
        rank[order] = np.arange(1, v.size + 1)
        labels.append(str(label))
        gates.append([significant(x) for x in v])
        ranks.append(rank.tolist())
    return {
        "mode": "channels",
        "id": payload_id,
        "grid": [len(blocks), max(len(g) for g in gates)],
        "labels": labels,
        "gates": gates,
        "ranks": ranks,
        "lut": lut_field(colorscale),
        "legend": "gate value: 0 (dark, channel closed) to 1 (bright, open)",
        "note": "",
        "max_pins": 0,
        "pinnable": False,
    }
