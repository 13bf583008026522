"""GCNet's finding as a process: emergence curves over training, the DNL split, GC vs the NL mean map.

Pure functions from numbers (the manifest's curves, a record's arrays) to plotly figures and computed
readings; no Streamlit, no torch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.analysis.paper import GCNET_TABLE1

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
        title={"text": "Entropy guard and unary share while the zoo trained (fresh scenes)"},
        height=360,
        margin={"l": 60, "r": 10, "t": 90, "b": 40},
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
