"""The Query-independence figures: the distance matrix between query maps, and Table 1 (this
image, the zoo, GCNet) as a table and as grouped bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.analysis.paper import GCNET_TABLE1, NL_FORM_TITLES, NL_FORMS
from viz.figures.grid import apply_layout, heatmap, panel_title
from viz.figures.raster import array, finite_range, fmt_num

SOURCE_MEASURED = "this image"


SOURCE_ZOO = "zoo (held-out)"


SOURCE_COCO = "GCNet COCO"


SOURCE_KINETICS = "GCNet Kinetics"


_SOURCE_COLORS = {
    SOURCE_MEASURED: "#d62728",
    SOURCE_ZOO: "#ff7f0e",
    SOURCE_COCO: "#1f77b4",
    SOURCE_KINETICS: "#17becf",
}


_STATS = ("input", "output", "att", "JSD")


_MEASURED_KEYS = {"input": "cos_input", "output": "cos_output", "att": "cos_att", "JSD": "jsd_att"}


_ZOO_KEYS = {"input": "input", "output": "output", "att": "att", "JSD": "jsd"}


def distance_matrix(d: np.ndarray, labels: list[str], title: str = "") -> go.Figure:
    """k x k distance matrix with the values written in the cells.

    Args:
        d: (k, k) distances, e.g. ``viz.analysis.numpy_stats.cosine_distance_matrix`` of k maps.
        labels: name of each row / column.
        title: figure title.

    Returns:
        go.Figure with one go.Heatmap (colour from 0).
    """
    m = array(d, 2, "distance_matrix: d")
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"distance_matrix: expected a square matrix, got {m.shape}")
    if len(labels) != m.shape[0]:
        raise ValueError(
            f"distance_matrix: {len(labels)} labels for a {m.shape[0]}×{m.shape[0]} matrix"
        )
    labels = [str(s) for s in labels]
    if len(set(labels)) != len(labels):  # categorical axes merge duplicates
        labels = [f"{s} [{i}]" for i, s in enumerate(labels)]
    k = m.shape[0]
    # (1 - cos)/2 of identical rows comes out as -1e-9 in float arithmetic: a distance is >= 0, and
    # the cell text must never read "-0.000"
    m = np.where(np.isfinite(m), np.maximum(m, 0.0), m)
    lo, hi = finite_range(m)
    fig = heatmap(
        m,
        title=title or f"Distances between {k} maps",
        colorscale="Viridis",
        zmin=0.0,
        zmax=max(hi, 1e-6),
        text_fmt=".3f" if k <= 16 else None,
        x_labels=labels,
        y_labels=labels,
        x_title="query (row, col)",
        y_title="query (row, col)",
        height=int(min(720, max(340, 160 + 36 * k))),
        colorbar_title="distance<br>(1 − cos)/2",
    )
    fig.update_traces(hovertemplate="%{y} vs %{x}<br>distance %{z:.4f}<extra></extra>")
    return fig


def _lookup(row: Mapping[str, Any] | None, keys: Sequence[str]) -> float:
    if not row:
        return float("nan")
    for k in keys:
        if k in row and row[k] is not None:
            try:
                return float(row[k])
            except (TypeError, ValueError):
                return float("nan")
    return float("nan")


def _forms(*dicts: Mapping[str, Any] | None) -> list[str]:
    present = {k.removeprefix("nl_") for d in dicts if d for k in d}
    unknown = present - set(NL_FORMS)
    if unknown:
        raise ValueError(
            f"unknown Non-local forms {sorted(unknown)}; expected some of {list(NL_FORMS)}"
        )
    return [f for f in NL_FORMS if f in present] or list(NL_FORMS)


def _strip(d: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k.removeprefix("nl_"): v for k, v in (d or {}).items()}


def table1_frame(
    measured: Mapping[str, Mapping[str, float | None]],
    zoo: Mapping[str, Mapping[str, float | None]] | None = None,
) -> pd.DataFrame:
    """Table-1 statistics of this image, the zoo and GCNet side by side.

    Args:
        measured: form -> ``viz.analysis.table1.query_independence`` result ("cos_input",
            "cos_output", "cos_att", "jsd_att"); forms as in ``viz.analysis.paper.NL_FORMS`` (an "nl_" prefix is fine).
        zoo: form -> held-out statistics ("input", "output", "att", "jsd"), or None.

    Returns:
        DataFrame indexed by (form, source) with columns input, output, att, JSD (NaN where a value
        does not exist, e.g. JSD of non-softmax forms). Forms are those in ``measured`` / ``zoo``
        (all four when both are empty); sources: this image, zoo (held-out), GCNet COCO,
        GCNet Kinetics.
    """
    measured, zoo = _strip(measured), _strip(zoo)
    records = []
    for form in _forms(measured, zoo):
        title = NL_FORM_TITLES[form]
        if form in measured:
            m = measured[form]
            records.append(
                (
                    title,
                    SOURCE_MEASURED,
                    *[_lookup(m, (_MEASURED_KEYS[s], _ZOO_KEYS[s])) for s in _STATS],
                )
            )
        if form in zoo:
            records.append(
                (
                    title,
                    SOURCE_ZOO,
                    *[_lookup(zoo[form], (_ZOO_KEYS[s], _MEASURED_KEYS[s])) for s in _STATS],
                )
            )
        for source, ds in ((SOURCE_COCO, "COCO"), (SOURCE_KINETICS, "Kinetics")):
            records.append(
                (title, source, *[_lookup(GCNET_TABLE1[ds][form], (_ZOO_KEYS[s],)) for s in _STATS])
            )
    df = pd.DataFrame.from_records(records, columns=["form", "source", *_STATS])
    return df.set_index(["form", "source"])


def table1_comparison(
    measured: Mapping[str, Mapping[str, float | None]],
    zoo: Mapping[str, Mapping[str, float | None]] | None = None,
) -> go.Figure:
    """Grouped bars of the Table-1 statistics per Non-local form: this image vs zoo vs GCNet.

    Args:
        measured: form -> ``viz.analysis.table1.query_independence`` result (see ``table1_frame``).
        zoo: form -> held-out statistics ("input", "output", "att", "jsd"), or None.

    Returns:
        go.Figure with one subplot per form, stats on x, one coloured bar per source.
    """
    df = table1_frame(measured, zoo)
    forms = list(dict.fromkeys(df.index.get_level_values("form")))
    numeric = df.to_numpy(dtype=float)
    top = float(np.nanmax(numeric)) if np.isfinite(numeric).any() else 0.5
    y_range = [0, max(0.5, top * 1.08)]
    # one layout dict (no make_subplots, no per-trace add): this figure is rebuilt for every image
    n = max(1, len(forms))
    space = 0.03
    width = (1.0 - space * (n - 1)) / n
    layout: dict = {"annotations": []}
    traces = []
    seen: set[str] = set()
    for j, form in enumerate(forms):
        sfx = str(j + 1) if j else ""
        x0 = j * (width + space)
        layout[f"xaxis{sfx}"] = dict(
            domain=[x0, x0 + width], anchor=f"y{sfx}", title=dict(text="statistic")
        )
        layout[f"yaxis{sfx}"] = dict(
            anchor=f"x{sfx}",
            range=y_range,
            **({"matches": "y", "showticklabels": False} if j else {}),
            **({} if j else {"title": dict(text="mean distance between positions")}),
        )
        layout["annotations"].append(panel_title(form, x0 + width / 2, 1.0))
        sub = df.loc[form]
        for source in sub.index:
            vals = sub.loc[source, list(_STATS)].to_numpy(dtype=float)
            traces.append(
                dict(
                    type="bar",
                    x=list(_STATS),
                    y=np.where(np.isfinite(vals), vals, np.nan),
                    name=source,
                    legendgroup=source,
                    showlegend=source not in seen,
                    marker=dict(color=_SOURCE_COLORS.get(source)),
                    text=[fmt_num(v) for v in vals],
                    textposition="none",
                    hovertemplate=f"{form}<br>{source}<br>%{{x}}: %{{text}}<extra></extra>",
                    xaxis=f"x{sfx}",
                    yaxis=f"y{sfx}",
                )
            )
            seen.add(source)
        if not np.isfinite(sub["JSD"].to_numpy(dtype=float)).any():
            layout["annotations"].append(
                dict(
                    text="n/a<br>(rows are not<br>distributions)",
                    x="JSD",
                    y=0.0,
                    yanchor="bottom",
                    xref=f"x{sfx}",
                    yref=f"y{sfx}",
                    showarrow=False,
                    font=dict(size=10, color="grey"),
                )
            )
    fig = go.Figure(data=traces, layout=layout)
    head = (
        "Query independence: this image vs GCNet Table 1<br><sup>(1 − cos)/2 over all position "
        "pairs for input x, output z − x and attention rows; JSD only for softmax forms</sup>"
    )
    return apply_layout(
        fig,
        head,
        420,
        barmode="group",
        bargap=0.2,
        legend=dict(orientation="h", y=-0.22),
        margin=dict(l=10, r=10, t=80, b=70),
    )
