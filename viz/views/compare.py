"""The Compare and Attribution pages: one image through several models, each model's main map in
one grid; attribution maps beside the attention maps, with their correlation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz import figures
from viz.analysis.attribution import map_correlation
from viz.analysis.forward import Analysis
from viz.attention import CHANNEL_KINDS
from viz.views.channel import channel_gates
from viz.views.common import picture
from viz.views.spatial import spatial_maps


@dataclass(frozen=True)
class CompareFigures:
    """The Compare page. ``spatial`` is ``None`` when no model gave a panel; ``channel`` when no
    model has channel gates or their lengths differ (they cannot share one chart)."""

    spatial: go.Figure | None
    channel: go.Figure | None


def _short(name: str) -> str:
    """A zoo model's name without the group prefix, for panel titles ("zoo/se" -> "se")."""
    return name.split("/", 1)[1] if name.startswith("zoo/") else name


def compare_view(analyses: Mapping[str, Analysis]) -> CompareFigures:
    """One image through several models: every model's main spatial map in one grid, and the channel
    gates of the channel modules side by side."""
    panels, gates = {}, {}
    image = None
    for name, an in analyses.items():
        image = picture(an) if image is None else image
        if not an.records:
            panels[f"{_short(name)}: no attention"] = None
        for path, rec in an.records.items():
            maps = spatial_maps(rec)
            if maps:
                label, heat = next(iter(maps.items()))
                panels[f"{_short(name)}: {label}"] = heat
            elif rec.kind in CHANNEL_KINDS:
                panels[f"{_short(name)}: channel gates only"] = None
            if rec.kind in CHANNEL_KINDS and "channel" in rec.tensors:
                gates[f"{name} · {path}"] = channel_gates(rec)
    spatial = figures.compare_grid(image, panels, cols=3) if panels else None
    channel = None
    if gates and len({g.shape for g in gates.values()}) == 1:
        channel = figures.channel_compare(
            gates, top_k=32, title="Channel gates, 32 most varying channels"
        )
    return CompareFigures(spatial=spatial, channel=channel)


def attribution_view(
    analysis: Analysis, attributions: Mapping[str, np.ndarray], opacity: float = 0.5
) -> tuple[go.Figure, pd.DataFrame]:
    """Attribution maps beside the attention maps, and each attribution's Pearson correlation with
    the other maps (NaN where a map is constant, e.g. an all-zero Grad-CAM)."""
    maps = {k: np.asarray(v, dtype=np.float32) for k, v in attributions.items()}
    for path, rec in analysis.records.items():
        for label, heat in spatial_maps(rec).items():
            maps[f"{path}: {label}"] = heat
            break
    fig = figures.attribution_side_by_side(picture(analysis), maps, opacity=opacity)
    rows = []
    methods = list(attributions)
    # every attribution against every other map (attention maps among themselves are not asked)
    for i, a in enumerate(methods):
        for b in methods[i + 1 :] + [k for k in maps if k not in attributions]:
            r = map_correlation(maps[a], maps[b])
            rows.append({"map A": a, "map B": b, "pearson r": float(r)})
    return fig, pd.DataFrame(rows, columns=["map A", "map B", "pearson r"])
