"""Plotly builders: pure functions from numpy arrays to ``go.Figure``, one module per page.

``grid`` (canvas, panels, subplot grids) and ``raster`` (colours, resizing, data URIs) serve them
all; ``explorer_js`` / ``explorer_payload`` are the in-browser explorer's code and data packing. No
Streamlit, no torch.
"""

from __future__ import annotations

from viz.figures.a2 import (
    a2_argmax_entropy,
    a2_distribute_maps,
    a2_gather_grid,
    a2_position_distribution,
    descriptor_matrix,
)
from viz.figures.canvas import (
    Picture,
    as_picture,
    blended_panel,
    dimmed,
    framed,
    outline_trace,
    panel_base,
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
from viz.figures.explorer import (
    click_to_cell,
    selection_to_cells,
)
from viz.figures.explorer_js import EXPLORER_CSS, EXPLORER_JS
from viz.figures.explorer_payload import (
    a2_payload,
    channels_payload,
    dequantise_rows,
    map_payload,
    quantise_rows,
    queries_payload,
)
from viz.figures.grid import (
    MARGIN,
    PANEL_HEIGHT,
    QUERY_MARKER,
    apply_layout,
    axes_pairs,
    cell_center,
    heat_trace,
    heatmap,
    image_axes,
    image_axes_layout,
    image_trace,
    overlay_extent,
    panel_grid_layout,
    panels_over_image,
    query_marker_trace,
    subplot_grid,
)
from viz.figures.nonlocal_ import (
    QueryPanels,
    click_grid_figure,
    composited_query_maps,
    query_maps,
)
from viz.figures.query_grid_js import QUERY_GRID_CSS, QUERY_GRID_JS
from viz.figures.query_grid_payload import query_grid_payload
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
    array,
    blend,
    categorical_colorscale,
    colorize,
    colour_lut,
    colour_panel,
    downscaled,
    encode_jpeg,
    finite_range,
    fmt_num,
    grid_shape,
    in_unit_interval,
    minmax,
    png_uri,
    resize_bilinear,
    rgb_image,
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
    "array",
    "rgb_image",
    "finite_range",
    "fmt_num",
    "in_unit_interval",
    "minmax",
    "resize_bilinear",
    "encode_jpeg",
    "categorical_colorscale",
    "png_uri",
    "downscaled",
    "colour_lut",
    "colorize",
    "blend",
    "colour_panel",
    "grid_shape",
    "MARGIN",
    "PANEL_HEIGHT",
    "QUERY_MARKER",
    "image_trace",
    "heat_trace",
    "image_axes_layout",
    "image_axes",
    "axes_pairs",
    "apply_layout",
    "subplot_grid",
    "overlay_extent",
    "heatmap",
    "query_marker_trace",
    "panel_grid_layout",
    "panels_over_image",
    "cell_center",
    "channel_bars",
    "channel_heatmap",
    "pairwise_correlation",
    "channel_compare",
    "spatial_overlay",
    "Picture",
    "as_picture",
    "blended_panel",
    "dimmed",
    "framed",
    "outline_trace",
    "panel_base",
    "QueryPanels",
    "query_maps",
    "click_grid_figure",
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
    "EXPLORER_CSS",
    "EXPLORER_JS",
    "a2_payload",
    "channels_payload",
    "dequantise_rows",
    "map_payload",
    "queries_payload",
    "QUERY_GRID_CSS",
    "QUERY_GRID_JS",
    "query_grid_payload",
    "quantise_rows",
    "click_to_cell",
    "selection_to_cells",
]
