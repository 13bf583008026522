"""What every page shares: number formatting, the user's picture with the model's crop, the
prediction chart, the module explainer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz import figures
from viz.analysis.forward import Analysis
from viz.attention import MECHANISMS
from viz.capture.recorder import Record

fmt = figures.fmt_num  # "0.000", never "-0.000"; None / NaN -> "–"


def styled(frame: pd.DataFrame, digits: int = 3):
    """A DataFrame Styler writing every float cell with :func:`fmt` (no "-0.000", "–" for missing);
    integers and text stay as they are.

    A column with missing values is written out as text first: Streamlit's grid draws a null
    cell as "None" whatever the Styler says (e.g. the JSD of forms whose rows are not
    distributions)."""

    def cell(v):
        if v is None or isinstance(v, (float, np.floating)):
            return fmt(v, digits)
        return v

    gaps = [c for c in frame.columns if frame[c].isna().any()]
    if gaps:
        frame = frame.copy()
        for c in gaps:
            frame[c] = [
                cell(v) if v is None or pd.isna(v) or isinstance(v, float) else v for v in frame[c]
            ]
    return frame.style.format(cell, na_rep="–")


def picture(analysis: Analysis) -> figures.Picture:
    """What the figures draw maps over: the user's picture with the model's crop box, or the
    crop alone for analyses that do not know the picture (older caches, unknown pipelines)."""
    return figures.as_picture(analysis.image, analysis.display, analysis.view_box)


def model_view(analysis: Analysis, source_size: tuple[int, int] | None = None):
    """The user's picture with the model's crop outlined (the outside dimmed), and a caption in
    the picture's own pixels: ``(pixels (H, W, 3) uint8, caption)``.

    Args:
        analysis: the run.
        source_size: (width, height) of the picture as uploaded (``display`` may be smaller);
            None writes sizes in ``display`` pixels.
    """
    pic = picture(analysis)
    seen = f"{analysis.image.shape[1]}×{analysis.image.shape[0]}"
    if not pic.whole:
        return pic.image, f"What the model saw: {seen} px (its crop of your picture)."
    dh, dw = pic.hw
    width, height = source_size or (dw, dh)
    sx, sy = width / dw, height / dh
    x0, y0, x1, y1 = pic.box
    box_w, box_h = round((x1 - x0) * sx), round((y1 - y0) * sy)
    if not pic.cropped:
        text = f"The model saw all of your {width}×{height} picture, resized to {seen}."
    else:
        text = (
            f"The model saw this {box_w}×{box_h} region of your {width}×{height} picture "
            f"(outlined), resized to {seen}; maps on the other pages are drawn on it."
        )
    return figures.framed(pic), text


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
        yaxis=dict(title="class"),
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
