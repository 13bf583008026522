"""The Non-local click grid's browser side, pure: its CSS and JavaScript, the data it is sent
(:func:`click_grid_payload`), and the mapping of clicks and selections back to query cells.

The browser appends every click to a log and sends the WHOLE log each time; Python applies the
entries it has not applied yet, in order (see :mod:`viz.ui.explorer`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from viz.figures.raster import colorize, downscaled, encode_jpeg, grid_shape, png_uri, rgb_image

CLICK_GRID_CSS = """
.vae-grid { position: relative; width: 100%; max-width: 560px; user-select: none; }
.vae-grid img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.vae-grid img.heat { image-rendering: auto; mix-blend-mode: normal; }
.vae-grid .cells { position: absolute; inset: 0; display: grid; }
.vae-grid .cell { margin: 0; padding: 0; border: 1px solid rgba(255,255,255,0.25);
  background: transparent; cursor: crosshair; position: relative; }
.vae-grid .cell:hover { background: rgba(255,255,255,0.25); }
.vae-grid .cell.chosen::after, .vae-grid .cell.pending::after { content: "✕"; position: absolute;
  inset: 0; display: flex; align-items: center; justify-content: center; font-weight: 700;
  font-size: clamp(9px, 2.2vw, 20px); color: #ff1f1f; text-shadow: 0 0 3px #fff; }
.vae-grid .cell.pending::after { color: #ff9900; }
"""


CLICK_GRID_JS = """
// One click log per component key, kept for the life of the page: every click is appended and the
// whole log is sent, so coalesced reruns cannot drop a click.
const logs = new Map();

export default function ({ parentElement, data, setStateValue, key }) {
  let log = logs.get(key);
  if (!log) {
    log = { id: Math.random().toString(36).slice(2) + Date.now().toString(36), cells: [] };
    logs.set(key, log);
  }
  let root = parentElement.querySelector(".vae-grid");
  if (!root) {
    root = document.createElement("div");
    root.className = "vae-grid";
    parentElement.appendChild(root);
  }
  const h = data.rows, w = data.cols;
  root.innerHTML = "";
  root.style.aspectRatio = `${data.width} / ${data.height}`;
  root.dataset.queries = JSON.stringify(data.queries);
  const base = document.createElement("img");
  base.src = data.image;
  base.alt = "image";
  root.appendChild(base);
  if (data.heat) {
    const heat = document.createElement("img");
    heat.className = "heat";
    heat.src = data.heat;
    heat.alt = "";
    heat.style.opacity = data.opacity;
    root.appendChild(heat);
  }
  const grid = document.createElement("div");
  grid.className = "cells";
  grid.style.gridTemplateColumns = `repeat(${w}, 1fr)`;
  grid.style.gridTemplateRows = `repeat(${h}, 1fr)`;
  const chosen = new Set(data.queries.map(([r, c]) => r * w + c));
  const applied = data.log_id === log.id ? data.applied : 0;
  const pending = new Set(
    log.cells.slice(applied).filter((e) => e[2] === data.token).map((e) => e[0] * w + e[1])
  );
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const cell = document.createElement("button");
      cell.type = "button";
      cell.className = "cell";
      if (chosen.has(r * w + c)) cell.classList.add("chosen");
      if (pending.has(r * w + c)) cell.classList.add("pending");
      cell.dataset.row = r;
      cell.dataset.col = c;
      cell.title = `cell (${r}, ${c})`;
      cell.addEventListener("click", () => {
        log.cells.push([r, c, data.token]);
        cell.classList.add("pending");
        setStateValue("clicks", { id: log.id, cells: log.cells.slice() });
      });
      grid.appendChild(cell);
    }
  }
  root.appendChild(grid);
}
"""


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
    gh, gw = grid_shape(grid_hw)
    ih, iw = grid_shape(image_hw, "image_hw")
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
    gh, gw = grid_shape(grid_hw)
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
    img = rgb_image(image)
    gh, gw = grid_shape(grid_hw)
    ih, iw = img.shape[:2]
    out = {
        "image": encode_jpeg(downscaled(img, max_side)),
        "width": int(iw),
        "height": int(ih),
        "rows": gh,
        "cols": gw,
        "queries": [[int(r), int(c)] for r, c in queries],
        "opacity": float(opacity),
        "heat": None,
    }
    if heat is not None:
        out["heat"] = png_uri(colorize(heat))
    return out
