"""GCNet's finding as a process: emergence curves over training, the DNL split, GC vs the NL mean map.

Pure functions from numbers (the manifest's curves, a record's arrays) to plotly figures and computed
readings; no Streamlit, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.paper import GCNET_TABLE1

__all__ = [
    "ATT_GOAL",
    "INPUT_GOAL",
    "dnl_figure",
    "dnl_maps",
    "dnl_share",
    "emergence_figure",
    "emergence_reading",
    "guard_figure",
    "regimes_table",
    "training_curves_figure",
]

FORMS = ("nl_gaussian", "nl_embedded_gaussian", "nl_dot_product", "nl_concatenation")
PAPER_FORM = {
    "nl_gaussian": "Gaussian",
    "nl_embedded_gaussian": "E-Gaussian",
    "nl_dot_product": "Dot product",
    "nl_concatenation": "Concat",
}
ATT_GOAL, INPUT_GOAL = 0.05, 0.25  # GCNet's pattern: att <= 0.05 while input >= 0.25
SERIES = (("att", "#d62728"), ("output", "#1f77b4"), ("input", "#7f7f7f"))
RUN_STYLES = (
    ("", "solid", "fresh scenes, seed 0"),
    ("@seed1", "dot", "fresh, seed 1"),
    ("@pool", "dash", "fixed pool"),
)


def _curve(entry: Mapping, key: str) -> tuple[list[int], list[float | None]]:
    rows = entry.get("table1_curve") or []
    return [r["epoch"] for r in rows], [r.get(key) for r in rows]


def emergence_figure(checkpoints: Mapping[str, Mapping], forms: Sequence[str] = FORMS) -> go.Figure:
    """Table-1 distances (att, output, input) vs training epoch, one panel per NL form.

    Solid: fresh scenes (seed 0); dotted: a second seed; dashed: the small fixed pool. GCNet's COCO
    values are the horizontal reference lines (att and output).

    Args:
        checkpoints: the manifest's ``checkpoints`` (run name -> entry with ``table1_curve``).
        forms: which NL kinds to draw.
    """
    forms = [f for f in forms if f in checkpoints]
    fig = make_subplots(
        rows=1,
        cols=max(1, len(forms)),
        shared_yaxes=True,
        subplot_titles=[PAPER_FORM.get(f, f) for f in forms] or ["no NL checkpoints"],
        horizontal_spacing=0.04,
    )
    for col, form in enumerate(forms, start=1):
        for suffix, dash, run_label in RUN_STYLES:
            entry = checkpoints.get(form + suffix)
            if not entry:
                continue
            for key, colour in SERIES:
                x, y = _curve(entry, key)
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=y,
                        mode="lines+markers" if not suffix else "lines",
                        line={"color": colour, "dash": dash, "width": 2 if not suffix else 1.5},
                        marker={"size": 4},
                        name=f"{key} · {run_label}",
                        legendgroup=f"{key}{suffix}",
                        showlegend=col == 1,
                        hovertemplate=f"{PAPER_FORM.get(form, form)} {key} ({run_label})<br>"
                        "epoch %{x}: %{y:.3f}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
        paper = GCNET_TABLE1["COCO"].get(form.removeprefix("nl_"), {})
        for key, colour in SERIES[:2]:
            if paper.get(key) is not None:
                fig.add_hline(
                    y=paper[key],
                    line={"color": colour, "dash": "longdashdot", "width": 1},
                    annotation_text=f"GCNet COCO {key} {paper[key]:.3f}",
                    annotation_font_size=9,
                    row=1,
                    col=col,
                )
        fig.update_xaxes(title_text="epoch (0 = init)", row=1, col=col)
    fig.update_yaxes(title_text="mean distance (1 − cos)/2", row=1, col=1, rangemode="tozero")
    fig.update_layout(
        title="How query independence emerges in training (zoo, held-out scenes)",
        height=380,
        margin={"l": 60, "r": 10, "t": 70, "b": 50},
        legend={"orientation": "h", "y": -0.25, "font": {"size": 10}},
    )
    return fig


def guard_figure(checkpoints: Mapping[str, Mapping], forms: Sequence[str] = FORMS) -> go.Figure:
    """Entropy guard (1 = uniform mean row) and the DNL unary share vs epoch, fresh scenes."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[
            "normalised entropy of the mean row (1 = uniform)",
            "unary share of the logit variance over keys",
        ],
    )
    palette = ("#9467bd", "#d62728", "#2ca02c", "#ff7f0e")
    for form, colour in zip(forms, palette):
        entry = checkpoints.get(form)
        if not entry:
            continue
        for col, key in ((1, "entropy"), (2, "unary_share")):
            x, y = _curve(entry, key)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    line={"color": colour},
                    marker={"size": 4},
                    name=PAPER_FORM.get(form, form),
                    legendgroup=form,
                    showlegend=col == 1,
                    hovertemplate=f"{PAPER_FORM.get(form, form)} {key}<br>epoch %{{x}}: %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="epoch (0 = init)")
    fig.update_yaxes(title_text="entropy / log N'", row=1, col=1, range=[0, 1.02])
    fig.update_yaxes(title_text="R² of the unary term", row=1, col=2, range=[-0.05, 1.02])
    fig.update_layout(
        height=320,
        margin={"l": 60, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def regimes_table(manifest: Mapping) -> list[dict]:
    """Rows: per NL form and data regime, the final Table-1 values, the guard and held-out mAP."""
    rows = []
    for form, r in (manifest.get("nl_regimes") or {}).items():
        for regime in ("fresh", "pool"):
            t = r.get(regime) or {}
            rows.append(
                {
                    "form": PAPER_FORM.get(form, form),
                    "data": "fresh scenes every epoch" if regime == "fresh" else "small fixed pool",
                    "input": t.get("input"),
                    "output": t.get("output"),
                    "att": t.get("att"),
                    "jsd": t.get("jsd"),
                    "entropy": t.get("entropy"),
                    "unary share": t.get("unary_share"),
                    "mAP": r.get(f"{regime}_mAP"),
                }
            )
    return rows


def emergence_reading(checkpoints: Mapping[str, Mapping]) -> str:
    """A computed verdict on GCNet's pattern (att <= 0.05 while input >= 0.25, not uniform)."""
    parts = []
    for form in FORMS:
        entry = checkpoints.get(form)
        if not entry or not entry.get("table1_curve"):
            continue
        init, last = entry["table1_curve"][0], entry["table1_curve"][-1]
        name = PAPER_FORM[form]
        holds = last["att"] <= ATT_GOAL and last["input"] >= INPUT_GOAL and last["entropy"] < 0.98
        trend = "fell" if last["att"] < init["att"] else "rose"
        text = (
            f"{name}: att {trend} from {init['att']:.3f} at init to {last['att']:.3f} after "
            f"{last['epoch']} epochs (input {last['input']:.3f}, mean-row entropy {last['entropy']:.2f})"
        )
        if holds:
            text += " — GCNet's pattern holds"
        elif last["entropy"] >= 0.98:
            text += " — rows alike only because they are nearly uniform"
        else:
            text += f" — above GCNet's {ATT_GOAL} goal"
        if last.get("unary_share") is not None:
            text += f"; the shared (unary) term explains {last['unary_share']:.0%} of the logit variance"
        parts.append(text + ".")
    return " ".join(parts) if parts else "No NL checkpoint has a training curve in the manifest."


def dnl_share(unary: np.ndarray, pairwise: np.ndarray) -> float:
    """R² of the unary term: 1 - sum_i Var_j(pairwise_ij) / sum_i Var_j(logit_ij) (one image)."""
    logits = pairwise + unary[None, :]
    total = float(logits.var(axis=1).sum())
    return 1.0 - float(pairwise.var(axis=1).sum()) / total if total > 0 else float("nan")


def dnl_maps(
    unary: np.ndarray,
    pairwise: np.ndarray,
    queries: Sequence[int],
    key_hw: tuple[int, int],
    softmax: bool,
) -> dict[str, np.ndarray]:
    """The unary map (what every query shares) and each query's pairwise map, on the key grid.

    For the softmax forms the unary map is softmax(unary) (the map the shared term alone draws);
    pairwise maps are logits (signed: where this query looks more or less than the shared map).
    """
    u = unary - unary.max()
    shared = np.exp(u) / np.exp(u).sum() if softmax else unary
    out = {"unary": shared.reshape(key_hw)}
    for q in queries:
        out[f"pairwise {q}"] = pairwise[q].reshape(key_hw)
    return out


def dnl_figure(
    maps: Mapping[str, np.ndarray],
    queries: Sequence[tuple[int, int]],
    query_hw: tuple[int, int],
    share: float,
    title: str,
) -> go.Figure:
    """The shared (unary) map and each query's pairwise map, on the key grid.

    Args:
        maps: :func:`dnl_maps` output (``unary`` first, then ``pairwise <i>``).
        queries: (row, col) of each pairwise map's query on the query grid (marked with a cross).
        query_hw: the query grid, to place the crosses on the key grid.
        share: the unary term's R² on this image.
        title: figure title.
    """
    # One layout dict and plain trace dicts (no make_subplots / update_*axes): this figure is
    # rebuilt for every upload, and plotly's per-call validation was most of its cost.
    names = list(maps)
    n = len(names)
    space = 0.03
    width = (1.0 - space * (n - 1)) / n
    titles = ["shared (unary) map: softmax(μ_qᵀk_j)"] + [
        f"query ({r}, {c}): (q_i − μ_q)ᵀk_j" for r, c in queries
    ]
    layout: dict = {
        "title": {
            "text": f"{title} — the unary term explains {share:.0%} of the logits' variance "
            "over keys"
        },
        "height": 300,
        "margin": {"l": 70, "r": 10, "t": 70, "b": 40},
        "annotations": [],
    }
    for i in range(n):
        sfx = str(i + 1) if i else ""
        x0 = i * (width + space)
        layout[f"xaxis{sfx}"] = {
            "domain": [x0, x0 + width],
            "anchor": f"y{sfx}",
            "showticklabels": False,
            "title": {"text": "key column"},
        }
        layout[f"yaxis{sfx}"] = {
            "anchor": f"x{sfx}",
            "autorange": "reversed",
            "scaleanchor": f"x{sfx}",
            "showticklabels": False,
            **({"title": {"text": "key row"}} if i == 0 else {}),
        }
        layout["annotations"].append(
            {
                "text": titles[i] if i < len(titles) else "",
                "x": x0 + width / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
    unary = maps[names[0]]
    kh, kw = unary.shape
    traces: list[dict] = [
        {
            "type": "heatmap",
            "z": unary,
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": "share of<br>attention"}, "x": -0.08, "len": 0.9},
            "hovertemplate": "key (%{y}, %{x}): %{z:.4f}<extra>unary</extra>",
            "xaxis": "x",
            "yaxis": "y",
        }
    ]
    lim = max((float(np.abs(maps[m]).max()) for m in names[1:]), default=1.0) or 1.0
    qh, qw = query_hw
    for i, (name, (r, c)) in enumerate(zip(names[1:], queries), start=2):
        axes = {"xaxis": f"x{i}", "yaxis": f"y{i}"}
        traces.append(
            {
                "type": "heatmap",
                "z": maps[name],
                "colorscale": "RdBu_r",
                "zmid": 0,
                "zmin": -lim,
                "zmax": lim,
                "showscale": i == n,
                "colorbar": {"title": {"text": "logit vs<br>shared map"}},
                "hovertemplate": "key (%{y}, %{x}): %{z:.3f}<extra>pairwise</extra>",
                **axes,
            }
        )
        traces.append(
            {
                "type": "scatter",
                "x": [c * kw / qw + (kw / qw - 1) / 2],
                "y": [r * kh / qh + (kh / qh - 1) / 2],
                "mode": "markers",
                "marker": {"symbol": "x", "size": 11, "color": "black", "line": {"width": 2}},
                "showlegend": False,
                "hoverinfo": "skip",
                **axes,
            }
        )
    fig = go.Figure(data=traces, layout=layout)
    return fig


def training_curves_figure(entry: Mapping, name: str) -> go.Figure:
    """Train and held-out loss (left axis) and held-out mAP (right axis) per epoch of one checkpoint."""
    c = entry.get("curves") or {}
    epochs = c.get("epoch", [])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    regime = "fixed pool" if (entry.get("data") or {}).get("regime") == "pool" else "fresh scenes"
    distilled = "teacher" in str((entry.get("recipe") or {}).get("loss", ""))
    lines = [("heldout_loss", "held-out loss (labels)", "dash")]
    if "train_label_loss" in c:
        lines.insert(0, ("train_label_loss", f"train loss (labels, {regime})", "solid"))
    elif not distilled:
        lines.insert(0, ("train_loss", f"train loss ({regime})", "solid"))
    if distilled:  # labels + teacher term: a different scale from the held-out label loss
        lines.append(("train_loss", f"train objective (labels + teacher, {regime})", "dot"))
    for key, label, dash in lines:
        fig.add_trace(
            go.Scatter(
                x=epochs, y=c.get(key, []), name=label, line={"dash": dash, "color": "#1f77b4"}
            ),
            secondary_y=False,
        )
    fig.add_trace(
        go.Scatter(
            x=epochs, y=c.get("heldout_mAP", []), name="held-out mAP", line={"color": "#d62728"}
        ),
        secondary_y=True,
    )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="BCE loss", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(
        title_text="mAP (held-out stamps and backgrounds)", secondary_y=True, range=[0, 1]
    )
    fig.update_layout(
        title=f"How {name} was trained",
        height=320,
        margin={"l": 60, "r": 60, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.3},
    )
    return fig
