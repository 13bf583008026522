"""What each page shows, assembled from an :class:`~viz.analysis.forward.Analysis`: pure,
Streamlit-free.

One module per page. Pages call these and only draw the results; benchmarks call them directly
(image bytes -> every figure of a page) so they measure exactly what a user waits for. A page's
figures come as a small frozen dataclass (``NonlocalFigures``, ``QueryIndependenceFigures``, ...):
typed fields, ``None`` where a figure does not apply, and the paths and labels a page keys its
charts by carried beside the figures instead of parsed out of dict keys.
"""

from __future__ import annotations

from viz.analysis.query_reading import HEATMAP_CAVEAT
from viz.attention import nl_form
from viz.figures.query_independence import table1_frame
from viz.views.a2 import (
    A2Figures,
    a2_position_figure,
    a2_view,
)
from viz.views.channel import (
    BlockFigure,
    ChannelFigures,
    channel_compare_view,
    channel_gates,
    channel_view,
)
from viz.views.common import (
    fmt,
    model_view,
    module_explainer,
    picture,
    prediction_figure,
    styled,
)
from viz.views.compare import (
    CompareFigures,
    attribution_view,
    compare_view,
)
from viz.views.explorer import (
    MapExplorer,
    a2_explorer,
    channel_explorer,
    explorer_id,
    nonlocal_explorer,
    nonlocal_pins,
    nonlocal_pins_npz,
    pins_frame,
    pins_markdown,
    spatial_explorers,
)
from viz.views.gcnet_recipe import (
    EPOCH_MODELS,
    GCNET_EG,
    PATTERN,
    FamilyStatus,
    ablation_view,
    epoch_choices,
    epoch_frame,
    epoch_numbers,
    family_status,
    layer_reading,
    readings,
    readings_frame,
    recipe_curves_view,
    sibling_models,
    training_curves,
)
from viz.views.nonlocal_ import (
    OVERLAY_HEAT_SIDE,
    OVERLAY_PHOTO_SIDE,
    PANEL_SIDE,
    NonlocalFigures,
    nl_mean_map,
    nonlocal_view,
)
from viz.views.query_independence import (
    LayerFigures,
    QueryIndependenceFigures,
    dnl_view,
    gc_nl_correlation,
    gc_vs_nl_view,
    nl_runs_layers,
    qi_query_grid,
    qi_query_maps,
    query_independence_view,
    reading,
    table1_measured,
    table1_table,
)
from viz.views.spatial import (
    SpatialFigures,
    SpatialOverlay,
    spatial_maps,
    spatial_view,
)
from viz.views.step_models import (
    StepsModels,
    steps_models,
)
from viz.views.steps import (
    STEP_TITLES,
    Step,
    gcnet_step,
)
from viz.views.training_curves import (
    TrainingFigures,
    training_view,
    zoo_training_curves,
)
from viz.weights.sources.gcnet import epoch_name

__all__ = [
    "EPOCH_MODELS",
    "GCNET_EG",
    "HEATMAP_CAVEAT",
    "PATTERN",
    "FamilyStatus",
    "ablation_view",
    "epoch_choices",
    "epoch_frame",
    "epoch_name",
    "epoch_numbers",
    "family_status",
    "layer_reading",
    "readings",
    "readings_frame",
    "recipe_curves_view",
    "sibling_models",
    "training_curves",
    "A2Figures",
    "BlockFigure",
    "ChannelFigures",
    "CompareFigures",
    "LayerFigures",
    "NonlocalFigures",
    "QueryIndependenceFigures",
    "STEP_TITLES",
    "SpatialFigures",
    "SpatialOverlay",
    "Step",
    "StepsModels",
    "TrainingFigures",
    "MapExplorer",
    "a2_explorer",
    "channel_explorer",
    "explorer_id",
    "nonlocal_explorer",
    "nonlocal_pins",
    "nonlocal_pins_npz",
    "pins_frame",
    "pins_markdown",
    "spatial_explorers",
    "table1_frame",
    "fmt",
    "styled",
    "nl_form",
    "prediction_figure",
    "picture",
    "model_view",
    "module_explainer",
    "channel_gates",
    "channel_view",
    "channel_compare_view",
    "spatial_maps",
    "spatial_view",
    "OVERLAY_PHOTO_SIDE",
    "OVERLAY_HEAT_SIDE",
    "PANEL_SIDE",
    "nl_mean_map",
    "nonlocal_view",
    "a2_view",
    "a2_position_figure",
    "table1_measured",
    "reading",
    "qi_query_grid",
    "qi_query_maps",
    "nl_runs_layers",
    "query_independence_view",
    "table1_table",
    "dnl_view",
    "gc_nl_correlation",
    "gc_vs_nl_view",
    "gcnet_step",
    "steps_models",
    "training_view",
    "zoo_training_curves",
    "compare_view",
    "attribution_view",
]
