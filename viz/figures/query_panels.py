"""What the Non-local query-map builders draw, checked once: :class:`QueryPanels`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from viz.figures.raster import array, grid_shape


@dataclass(frozen=True, eq=False)
class QueryPanels:
    """What both query-map builders draw, checked once: one attention map per query, the query
    grid the queries sit on, the panels' titles, and the panels' opacity, columns and colours.

    On construction maps become float64 2-D arrays (leading singleton axes dropped), ``grid_hw``
    a pair of ints, ``queries`` int pairs and ``titles`` a tuple ("query (r, c)" by default).
    ``queries=None`` means plain map panels, without query markers (only
    :func:`composited_query_maps` draws those; its titles then name the maps). No ``==``: the
    fields are arrays.

    Args:
        maps: one (h', w') attention row per query, reshaped to the key grid.
        queries: (row, col) of each query on ``grid_hw``, or None.
        grid_hw: (h, w) query grid (the module's feature map).
        titles: panel titles.
        opacity: heat opacity over the image.
        cols: panels per row.
        colorscale: plotly colour scale.
    """

    maps: Sequence[np.ndarray]
    queries: Sequence[tuple[int, int]] | None
    grid_hw: tuple[int, int]
    titles: Sequence[str] | None = None
    opacity: float = 0.6
    cols: int = 4
    colorscale: str = "Viridis"

    def __post_init__(self) -> None:
        n = len(self.maps)
        if n == 0:
            raise ValueError("QueryPanels: no maps given")
        if self.queries is not None and len(self.queries) != n:
            raise ValueError(f"QueryPanels: {n} maps for {len(self.queries)} queries")
        if self.titles is not None and len(self.titles) != n:
            raise ValueError(f"QueryPanels: {len(self.titles)} titles for {n} maps")
        maps = tuple(array(m, 2, f"QueryPanels: map {i}") for i, m in enumerate(self.maps))
        queries = None if self.queries is None else tuple((int(r), int(c)) for r, c in self.queries)
        object.__setattr__(self, "maps", maps)
        object.__setattr__(self, "queries", queries)
        object.__setattr__(self, "grid_hw", grid_shape(self.grid_hw))
        titles = self.titles or [f"query ({r}, {c})" for r, c in self.cells]
        object.__setattr__(self, "titles", tuple(titles))

    @property
    def cells(self) -> tuple[tuple[int, int], ...]:
        """Each panel's query cell; (0, 0) for plain map panels (their markers are not drawn)."""
        return self.queries or ((0, 0),) * len(self.maps)

    def key_grids(self) -> str:
        """The subtitle both builders write: "query grid h×w, key grid h'×w'[, ...]"."""
        gh, gw = self.grid_hw
        keys = ", ".join(f"{a}×{b}" for a, b in sorted({m.shape for m in self.maps}))
        return f"query grid {gh}×{gw}, key grid {keys}"
