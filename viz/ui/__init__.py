"""The Streamlit layer, the only code that imports streamlit: session state, cached models and
analyses, the shared sidebar, the multipage app (:mod:`viz.ui.app`) and the in-browser explorer.

Pages import only ``streamlit``, :mod:`viz.ui` and :mod:`viz.views`; what they need from the
layers below is re-exported here.
"""

from __future__ import annotations

from viz.analysis.forward import (
    DEFAULT_BACKBONE,
    Analysis,
    export_npz,
    grid_queries,
    nl_grids,
    nl_layers,
    nl_statistics,
    records_of_kind,
    stats_csv,
    zoo_model_for,
)
from viz.analysis.paper import GCNET_SOURCE
from viz.attention import NL_KINDS, kinds_on
from viz.data.samples import list_samples, load_sample
from viz.errors import ModelUnavailable
from viz.ui.app import run
from viz.ui.epochs import epoch_slider
from viz.ui.explorer import apply_pin_log, cached_payload, explorer
from viz.ui.page_model import page_analysis, preferred_backbone
from viz.ui.query_grid import query_grid
from viz.ui.state import (
    BACKBONE_KEY,
    IMAGE_KEY,
    analyse_many,
    current_analysis,
    current_image,
    get_analysis,
    get_attribution,
    get_backbone,
    require_kinds,
    switch_backbone,
)
from viz.ui.widgets import (
    analyse_with_progress,
    downloads,
    nl_layer_picker,
    page_style,
    require_image,
)
from viz.weights.registry import backbone_info, list_backbones

__all__ = [
    "BACKBONE_KEY",
    "DEFAULT_BACKBONE",
    "GCNET_SOURCE",
    "IMAGE_KEY",
    "NL_KINDS",
    "Analysis",
    "ModelUnavailable",
    "analyse_many",
    "analyse_with_progress",
    "apply_pin_log",
    "backbone_info",
    "cached_payload",
    "explorer",
    "current_analysis",
    "current_image",
    "downloads",
    "epoch_slider",
    "export_npz",
    "get_analysis",
    "get_attribution",
    "get_backbone",
    "grid_queries",
    "kinds_on",
    "list_backbones",
    "list_samples",
    "load_sample",
    "nl_grids",
    "nl_layer_picker",
    "nl_layers",
    "nl_statistics",
    "page_analysis",
    "page_style",
    "preferred_backbone",
    "query_grid",
    "records_of_kind",
    "require_image",
    "require_kinds",
    "run",
    "stats_csv",
    "switch_backbone",
    "zoo_model_for",
]
