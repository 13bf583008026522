"""The analysis layer: a backbone run on an image -> :class:`Analysis` (numpy); GCNet's Table-1
statistics; the batched statistics of training; DNL's split; attribution; the papers' numbers.
"""

from __future__ import annotations

from viz.analysis.batched import (
    SOFTMAX_FORMS,
    dnl_batch,
    mean_row_entropy,
    record_batch_statistics,
)
from viz.analysis.dnl import (
    dnl_maps,
    dnl_share,
)
from viz.analysis.paper import (
    GCNET_SOURCE,
    GCNET_TABLE1,
    IMAGENET_RESNET50_TOP1,
    IMAGENET_SOURCE,
    NL_FORM_TITLES,
    NL_FORMS,
    TABLE1_STATS,
    paper_value,
)
from viz.analysis.run import (
    DEFAULT_BACKBONE,
    Analysis,
    analyse,
    export_npz,
    grid_queries,
    nl_grids,
    nl_layers,
    nl_statistics,
    records_of_kind,
    stats_csv,
    zoo_model_for,
)
from viz.analysis.stats import (
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_SAMPLE_PAIRS,
    EXACT_MAX_WORK,
    Z95,
    cosine_distance_matrix,
    jsd_matrix,
    mean_cosine_distance,
    mean_jsd,
    mean_map,
    query_independence,
    record_statistics,
    rows_are_distributions,
    sampled_mean_jsd,
    use_exact_jsd,
)

__all__ = [
    "DEFAULT_BACKBONE",
    "Analysis",
    "analyse",
    "records_of_kind",
    "nl_layers",
    "nl_grids",
    "nl_statistics",
    "grid_queries",
    "export_npz",
    "stats_csv",
    "zoo_model_for",
    "DEFAULT_MEMORY_BUDGET",
    "EXACT_MAX_WORK",
    "DEFAULT_SAMPLE_PAIRS",
    "Z95",
    "mean_cosine_distance",
    "cosine_distance_matrix",
    "rows_are_distributions",
    "mean_jsd",
    "sampled_mean_jsd",
    "use_exact_jsd",
    "jsd_matrix",
    "mean_map",
    "query_independence",
    "record_statistics",
    "SOFTMAX_FORMS",
    "mean_row_entropy",
    "dnl_batch",
    "record_batch_statistics",
    "dnl_share",
    "dnl_maps",
    "NL_FORMS",
    "NL_FORM_TITLES",
    "TABLE1_STATS",
    "GCNET_SOURCE",
    "GCNET_TABLE1",
    "IMAGENET_SOURCE",
    "IMAGENET_RESNET50_TOP1",
    "paper_value",
]
