"""What each page shows, assembled from an :class:`viz.analysis.Analysis`: pure, Streamlit-free.

The Spatial-attention page.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz import figures
from viz.analysis.run import Analysis, nl_grids, records_of_kind
from viz.attention import NL_KINDS
from viz.capture.recorder import Record
from viz.views.common import _sigmoid


def spatial_maps(record: Record) -> dict[str, np.ndarray]:
    """The 2-D maps a record offers, named for captions (all in [0, 1] except GC's softmax)."""
    a = record.tensors
    if record.kind == "gc":
        return {"context a = softmax(conv_mask(x))": a["context"]}
    if record.kind == "cbam" and "spatial" in a:
        return {"spatial gate Ms": a["spatial"]}
    if record.kind == "bam":
        out = {"σ(Ms) spatial branch": _sigmoid(a["spatial"])}
        if "gate" in a:
            out["gate σ(Mc+Ms), mean over channels"] = a["gate"].mean(axis=0)
        return out
    if record.kind == "gsop" and "spatial" in a:
        return {"position attention": a["spatial"]}
    if record.kind == "a2":
        return {"gather maps, mean over n": a["gather"].mean(axis=0)}
    if record.kind in NL_KINDS:
        _, (kh, kw) = nl_grids(record)
        return {"mean attention row (all queries)": a["attention"].mean(axis=0).reshape(kh, kw)}
    return {}


def spatial_view(analysis: Analysis, opacity: float = 0.5) -> dict[str, go.Figure]:
    """Every spatial map of GC / CBAM / BAM (and GSoP position) records, overlaid on the image."""
    out = {}
    for path, rec in records_of_kind(analysis, ("gc", "cbam", "bam", "gsop")).items():
        for label, heat in spatial_maps(rec).items():
            if rec.kind == "gsop" and "spatial" not in rec.tensors:
                continue
            out[f"{path}:{label}"] = figures.spatial_overlay(
                analysis.image,
                heat,
                opacity=opacity,
                title=f"{path} ({rec.kind}): {label} {heat.shape[0]}×{heat.shape[1]}",
            )
    return out
