"""What each page shows, assembled from an :class:`viz.analysis.Analysis`: pure, Streamlit-free.

What every page shares: number formatting, the prediction chart, the module explainer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz import figures
from viz.analysis.run import Analysis
from viz.attention import NL_KINDS
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


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def nl_form(kind: str) -> str:
    """``"nl_dot_product"`` -> ``"dot_product"`` (the key of ``viz.analysis.paper.GCNET_TABLE1``)."""
    return kind[3:] if kind.startswith("nl_") else kind


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


_FORMULAS = {
    "se": "s = σ(W₂ δ(W₁ GAP(x))), out = x · s",
    "eca": "w = σ(Conv1d_k(GAP(x))), out = x · w  (k from log₂ C)",
    "gsop": "att = σ(conv(rowconv(Cov(conv₁ₓ₁(x))))), out = x · att  (second-order pooling)",
    "cbam": "Mc = σ(MLP(avg x) + MLP(max x)); Ms = σ(BN(conv₇ₓ₇([max_c x'; mean_c x']))); "
    "out = x · Mc · Ms",
    "bam": "F' = F + F ⊗ σ(Mc(F) + Ms(F)), Mc: GAP → MLP, Ms: dilated 3×3 convs",
    "gc": "a = softmax_N(conv_mask(x)); ctx = Σ_j a_j x_j; out = x + Conv(ReLU(LN(Conv(ctx))))",
    "a2": "G = φ(X) softmax_N(θ(X))ᵀ (gather, m×n); Z = G softmax_n(ρ(X)) (distribute, m×N)",
    "nl_gaussian": "y_i = Σ_j softmax_j(x_iᵀ x_j) g(x_j); z = BN(W_z y) + x",
    "nl_embedded_gaussian": "y_i = Σ_j softmax_j(θ_iᵀ φ_j) g(x_j); z = BN(W_z y) + x",
    "nl_dot_product": "y_i = Σ_j (θ_iᵀ φ_j / N') g(x_j); z = BN(W_z y) + x",
    "nl_concatenation": "y_i = Σ_j ReLU(w_fᵀ[θ_i; φ_j]) / N' · g(x_j); z = BN(W_z y) + x",
}


def _mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:.2f} MB" if nbytes >= 2**16 else f"{nbytes / 1024:.1f} KB"


def module_explainer(kind: str, record: Record | None = None) -> str:
    """Markdown: the module's formula and the live tensor shapes of this run.

    Args:
        kind: attention kind.
        record: a captured record of that kind (shapes are read from it), or ``None``.
    """
    lines = [f"**{kind}** — `{_FORMULAS.get(kind, 'attention module')}`"]
    if record is None:
        return lines[0]
    shapes = ", ".join(f"`{k}` {tuple(v.shape)}" for k, v in record.tensors.items())
    lines.append(f"Captured ({record.module_type}): {shapes}.")
    a = record.tensors
    if kind == "a2":
        n, h, w = a["gather"].shape
        big_n = h * w
        m = a["descriptors"].shape[0] if "descriptors" in a else n
        lines.append(
            f"Here m = {m}, n = {n}, N = {h}×{w} = {big_n}. Gather/distribute keeps "
            f"O(mn + nN) = {m * n + n * big_n:,} floats ({_mb(4 * (m * n + n * big_n))}); "
            f"the equivalent φ[softmax(θ)ᵀ softmax(ρ)] form needs an N×N = {big_n * big_n:,} "
            f"matrix ({_mb(4 * big_n * big_n)})."
        )
    elif kind in NL_KINDS:
        c, h, w = a["input"].shape
        n, n_keys = a["attention"].shape
        lines.append(
            f"Here C = {c}, the map is {h}×{w} (N = {n} queries, N' = {n_keys} keys); the attention "
            f"matrix has {n * n_keys:,} entries ({_mb(4 * n * n_keys)})."
        )
    elif kind == "gc":
        h, w = a["context"].shape
        lines.append(
            f"One context map of {h}×{w} = {h * w} weights summing to 1; "
            f"the transform adds a {a['transform'].shape[0]}-channel vector at every position."
        )
    elif "channel" in a:
        lines.append(f"{a['channel'].shape[0]} channel gates in this block.")
    return "\n\n".join(lines)
