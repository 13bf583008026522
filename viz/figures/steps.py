"""The "GCNet in five steps" page's own figure: held-out accuracy of GC beside the Non-local
block it replaces, the one figure no other page draws. Every other step reuses the Non-local,
Table-1 and DNL builders.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.figures.grid import apply_layout
from viz.figures.raster import fmt_num

HIGHLIGHT_COLOUR = "#d62728"


OTHER_COLOUR = "#7f7f7f"


def accuracy_bars(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    highlight: Sequence[str] = (),
    metric: str = "mAP",
    title: str = "",
) -> go.Figure:
    """One horizontal bar per model, its score written beside it; missing scores read "–".

    Args:
        labels: model names, top to bottom.
        values: each model's score (``None`` when the manifest has none).
        highlight: labels drawn in the highlight colour (the two models the step compares).
        metric: the score's name, for the axis.
        title: figure title.

    Returns:
        go.Figure with one go.Bar; the x axis starts at 0 so bar lengths compare honestly.

    Raises:
        ValueError: ``labels`` and ``values`` differ in length, or no label is given.
    """
    labels, values = [str(s) for s in labels], list(values)
    if not labels:
        raise ValueError("accuracy_bars: no models given")
    if len(labels) != len(values):
        raise ValueError(f"accuracy_bars: {len(labels)} labels for {len(values)} values")
    nums = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    finite = nums[np.isfinite(nums)]
    top = float(finite.max()) if finite.size else 1.0
    marked = set(highlight)
    fig = go.Figure(
        go.Bar(
            x=np.where(np.isfinite(nums), nums, 0.0)[::-1],
            y=labels[::-1],
            orientation="h",
            text=[fmt_num(v) for v in nums][::-1],
            textposition="outside",
            marker=dict(
                color=[HIGHLIGHT_COLOUR if s in marked else OTHER_COLOUR for s in labels][::-1]
            ),
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    return apply_layout(
        fig,
        title or f"Held-out {metric} per model",
        int(120 + 48 * len(labels)),
        xaxis=dict(title=dict(text=metric), range=[0.0, max(top * 1.3, 1e-6)]),
        font=dict(size=16),
        showlegend=False,
    )
