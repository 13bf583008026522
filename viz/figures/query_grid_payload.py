"""What the in-browser query grid is sent, pure: one JSON payload per (model, image, layer).

The Query-independence page's headline figure: the attention maps of a k x k grid of queries side
by side and the (1 - cos)/2 distances between their rows. The grid size and the opacity are moved
in the browser, so the payload holds every grid the slider offers: the rows of all their queries
(uint8 per row, for drawing) and, per grid, the exact distance matrix computed here from the
float rows (quantised rows would blur the small distances the finding is about). The JavaScript
is ``viz/figures/web/query_grid.mjs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from viz.figures.explorer_payload import (
    attention_rows,
    block_mean,
    downsample_factors,
    lut_field,
    picture_fields,
    rows_fields,
    significant,
)

MAX_KEYS = 64 * 64  # a panel is drawn at <= 270 px: finer key grids are block-averaged


def query_grid_payload(
    image: np.ndarray,
    attention: np.ndarray,
    grid_hw: tuple[int, int],
    keys_hw: tuple[int, int],
    grids: Mapping[int, tuple[Sequence[tuple[int, int]], np.ndarray]],
    *,
    payload_id: str,
    label: str = "",
    display: np.ndarray | None = None,
    view_box: Sequence[float] | None = None,
    k: int = 4,
    opacity: float = 0.6,
    colorscale: str = "Viridis",
) -> dict:
    """The query grid's payload.

    Args:
        image: (H, W, 3) the crop the model saw.
        attention: (N, N') rows = queries, N = h*w, N' = kh*kw.
        grid_hw: (h, w) query grid; keys_hw: (kh, kw) key grid.
        payload_id: identity of (model, image, layer): the browser decodes a payload once per id.
        label: names the layer ("backbone · path") in the figure's title.
        display: the user's whole picture, drawn under each panel with the model's crop
            ``view_box`` (x0, y0, x1, y1 in ``display`` pixels) outlined and the rest dimmed.
        k: the grid shown first; opacity: the maps' opacity shown first.

    Returns:
        the JSON-able payload. ``grids[str(k)]`` holds ``queries`` ([row, col] on ``grid_hw``),
        ``rows`` (indices into the sent rows), ``distance`` (the row-major (q, q) matrix of
        (1 - cos)/2, exact to 6 digits, clipped at 0) and ``mean`` (its off-diagonal mean).
    """
    att, (h, w), (kh, kw) = attention_rows(attention, grid_hw, keys_hw)
    sizes = sorted(int(s) for s in grids)
    if not sizes or sizes[0] < 1:
        raise ValueError(f"grids: expected grid sizes >= 1, got {sizes}")
    cells: dict[tuple[int, int], int] = {}
    sent = {}
    for size in sizes:
        queries, distance = grids[size]
        queries = [(int(r), int(c)) for r, c in queries]
        n = len(queries)
        if n == 0 or not all(0 <= r < h and 0 <= c < w for r, c in queries):
            raise ValueError(f"grids[{size}]: queries must be non-empty cells of {h}×{w}")
        dist = np.asarray(distance, dtype=np.float64)
        if dist.shape != (n, n):
            raise ValueError(f"grids[{size}]: distance must be ({n}, {n}), got {dist.shape}")
        for q in queries:
            cells.setdefault(q, len(cells))
        dist = np.where(np.isfinite(dist), np.maximum(dist, 0.0), 0.0)  # -1e-9: identical rows
        off = dist[~np.eye(n, dtype=bool)]
        sent[str(size)] = {
            "queries": [[r, c] for r, c in queries],
            "rows": [cells[q] for q in queries],
            "distance": [significant(v) for v in dist.ravel()],
            "mean": significant(float(off.mean())) if off.size else 0.0,
            "max": significant(float(dist.max())),
        }
    picked = np.stack([att[r * w + c] for r, c in cells]).reshape(len(cells), kh, kw)
    _, fk = downsample_factors((1, 1), (kh, kw), MAX_KEYS)
    keys = block_mean(picked, fk)
    sh, sw = keys.shape[-2:]
    note = f"keys averaged in {fk}×{fk} blocks for drawing ({sh}×{sw})." if fk > 1 else ""
    first = k if k in sizes else sizes[len(sizes) // 2]
    return {
        "mode": "query_grid",
        "id": payload_id,
        "label": label,
        **picture_fields(image, display, view_box),
        "grid": [h, w],
        "keys": [int(sh), int(sw)],
        **rows_fields(keys.reshape(len(cells), sh * sw)),
        "sizes": sizes,
        "grids": sent,
        "k": int(first),
        "opacity": float(opacity),
        "lut": lut_field(colorscale),
        "legend": "attention weight, one scale for all the maps shown (least attended dark)",
        "dlegend": "(1 − cos)/2 between two queries' attention rows: 0 = the same map",
        "note": note,
    }
