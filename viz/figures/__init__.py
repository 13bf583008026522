"""Plotly builders: pure functions from numpy arrays to ``go.Figure``, one module per page.

``grid`` (canvas, panels, subplot grids) and ``raster`` (colours, resizing, data URIs) serve them
all; ``explorer`` holds the Non-local click grid's browser side. No Streamlit, no torch.
"""

from __future__ import annotations

from viz.figures.a2 import (
    a2_argmax_entropy,
    a2_distribute_maps,
    a2_gather_grid,
    a2_position_distribution,
    descriptor_matrix,
)
from viz.figures.channel import (
    channel_bars,
    channel_compare,
    channel_heatmap,
    pairwise_correlation,
)
from viz.figures.compare import (
    attribution_side_by_side,
    compare_grid,
)
from viz.figures.dnl import (
    dnl_figure,
)
from viz.figures.grid import (
    heatmap,
)
from viz.figures.nonlocal_ import (
    cell_center,
    click_grid_figure,
    click_grid_payload,
    click_to_cell,
    composited_query_maps,
    query_maps,
    selection_to_cells,
)
from viz.figures.query_independence import (
    SOURCE_COCO,
    SOURCE_KINETICS,
    SOURCE_MEASURED,
    SOURCE_ZOO,
    distance_matrix,
    table1_comparison,
    table1_frame,
)
from viz.figures.raster import (
    blend,
    colorize,
    fmt_num,
    resize_bilinear,
)
from viz.figures.spatial import (
    spatial_overlay,
)
from viz.figures.training import (
    FORMS,
    PAPER_FORM,
    RUN_STYLES,
    SERIES,
    emergence_figure,
    emergence_reading,
    guard_figure,
    regimes_table,
    training_curves_figure,
)

__all__ = [
    "fmt_num",
    "resize_bilinear",
    "colorize",
    "blend",
    "heatmap",
    "channel_bars",
    "channel_heatmap",
    "pairwise_correlation",
    "channel_compare",
    "spatial_overlay",
    "cell_center",
    "click_to_cell",
    "selection_to_cells",
    "query_maps",
    "click_grid_figure",
    "click_grid_payload",
    "composited_query_maps",
    "a2_argmax_entropy",
    "a2_gather_grid",
    "a2_distribute_maps",
    "a2_position_distribution",
    "descriptor_matrix",
    "SOURCE_MEASURED",
    "SOURCE_ZOO",
    "SOURCE_COCO",
    "SOURCE_KINETICS",
    "distance_matrix",
    "table1_frame",
    "table1_comparison",
    "attribution_side_by_side",
    "compare_grid",
    "FORMS",
    "PAPER_FORM",
    "SERIES",
    "RUN_STYLES",
    "emergence_figure",
    "guard_figure",
    "regimes_table",
    "emergence_reading",
    "training_curves_figure",
    "dnl_figure",
]
