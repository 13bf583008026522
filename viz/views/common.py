"""What each page shows, assembled from an :class:`viz.analysis.Analysis`: pure, Streamlit-free.

What every page shares: number formatting, the prediction chart, the module explainer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz import figures
from viz.analysis.run import Analysis
from viz.attention import MECHANISMS
from viz.capture.recorder import Record

fmt = figures.fmt_num  # "0.000", never "-0.000"; None / NaN -> "–"


def styled(frame: pd.DataFrame, digits: int = 3):
    """A DataFrame Styler writing every float cell with :func:`fmt` (no "-0.000", "–" for missing);
    integers and text stay as they are."""

    def cell(v):
        if v is None or isinstance(v, (float, np.floating)):
            return fmt(v, digits)
        return v

    return frame.style.format(cell, na_rep="–")


def prediction_figure(analysis: Analysis, top: int = 5) -> go.Figure:
    """Horizontal bars of the top classes (probabilities: sigmoid per label, or softmax)."""
    pairs = analysis.prediction[:top]
    probs_all = analysis.probabilities
    if probs_all is not None and len(analysis.classes) == len(probs_all) and top > len(pairs):
        order = np.argsort(-np.asarray(probs_all))[:top]
        pairs = [(analysis.classes[i], float(probs_all[i])) for i in order]
    labels = [label for label, _ in pairs][::-1]
    probs = [p for _, p in pairs][::-1]
    kind = "sigmoid (multi-label)" if analysis.task == "multilabel" else "softmax"
    fig = go.Figure(go.Bar(x=probs, y=labels, orientation="h", text=[f"{p:.3f}" for p in probs]))
    fig.update_layout(
        title=f"Top {len(labels)} classes — {analysis.backbone}",
        xaxis=dict(title=f"probability ({kind})", range=[0, 1]),
        height=60 + 40 * max(len(labels), 1),
        margin=dict(l=10, r=10, t=50, b=40),
    )
    return fig


def module_explainer(kind: str, record: Record | None = None) -> str:
    """Markdown: the module's formula and the live tensor shapes of this run.

    Args:
        kind: attention kind.
        record: a captured record of that kind (shapes are read from it), or ``None``.
    """
    facts = MECHANISMS.get(kind)
    lines = [f"**{kind}** — `{facts.formula if facts else 'attention module'}`"]
    if record is None:
        return lines[0]
    shapes = ", ".join(f"`{k}` {tuple(v.shape)}" for k, v in record.tensors.items())
    lines.append(f"Captured ({record.module_type}): {shapes}.")
    if facts is not None and facts.explain is not None and (line := facts.explain(record.tensors)):
        lines.append(line)
    return "\n\n".join(lines)
