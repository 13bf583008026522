"""Clicks and plotly selections mapped back to grid cells, pure.

The in-browser explorer itself (components v2) is ``viz/figures/web/explorer.mjs`` (read by
:mod:`viz.figures.web_assets`) and :mod:`viz.figures.explorer_payload` (what it is sent).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from viz.figures.raster import grid_shape


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
