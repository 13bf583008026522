"""The ablation as one figure: what makes Non-local maps query-independent.

One panel per (form, optimiser, schedule); within a panel, each ingredient combination is a
column (input x init x scale) and each seed a marker: y is the attention distance att (log
scale, GCNet's 0.05 threshold drawn), the marker's symbol is the three-outcome reading and its
colour the mean row's peak over uniform, so "low att because flat" and "low att with a shared map"
look different.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from viz.analysis.query_reading import ATT_MAX, FLAT, OUTCOMES, QUERY_DEPENDENT, QUERY_INDEPENDENT

SYMBOLS = {QUERY_INDEPENDENT: "star", FLAT: "circle-open", QUERY_DEPENDENT: "x"}

COLUMNS = (
    "form",
    "optimiser",
    "schedule",
    "recipe",
    "seed",
    "att",
    "input",
    "peak",
    "entropy",
    "unary_share",
    "mAP",
    "outcome",
    "independent_epochs",
)


def ablation_figure(frame: pd.DataFrame, where: str = "held-out scenes") -> go.Figure:
    """The ablation's cells as one faceted strip plot (``frame`` has :data:`COLUMNS`).

    Args:
        frame: one row per finished cell and seed.
        where: what the statistics were measured on (the subtitle says it).
    """
    if frame.empty:
        return _nothing_yet("No ablation cell has finished yet")
    data = frame.copy()
    data["panel"] = data["form"] + " · " + data["optimiser"] + " · " + data["schedule"]
    fig = px.scatter(
        data,
        x="recipe",
        y="att",
        color="peak",
        symbol="outcome",
        symbol_map=SYMBOLS,
        category_orders={"outcome": list(OUTCOMES)},
        facet_col="panel",
        facet_col_wrap=2,
        range_color=(1, max(6.0, float(data["peak"].max()))),
        color_continuous_scale="Viridis",
        hover_data=["seed", "input", "entropy", "unary_share", "mAP", "independent_epochs"],
        labels={
            "att": "att: (1 − cos)/2 between rows",
            "recipe": "input · init · scale",
            "peak": "peak / uniform",
        },
    )
    fig.update_traces(marker={"size": 11, "line": {"width": 1.5}})
    fig.add_hline(y=ATT_MAX, line_dash="dash", line_color="grey", annotation_text="0.05")
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    rows = -(-data["panel"].nunique() // 2)
    fig.update_layout(
        title="What makes Non-local maps query-independent<br>"
        f"<sup>att at the end of training on {where}; ★ one shared map, ○ flat, × query-"
        "dependent; colour: the mean row's strongest key over a uniform share</sup>",
        height=260 + 300 * rows,
        legend={"orientation": "h", "y": -0.15},
        margin={"t": 110},
    )
    fig.update_xaxes(tickangle=35)
    fig.update_yaxes(range=[0, 0.55])
    return fig


def recipe_curves_figure(frame: pd.DataFrame) -> go.Figure:
    """att, the mean row's peak over uniform and the held-out loss after each epoch, for the two
    recipes the epoch slider shows (``frame``: :func:`viz.views.gcnet_recipe.training_curves`)."""
    if frame.empty:
        return _nothing_yet("No long run of the two recipes has finished yet")
    long = frame.melt(
        id_vars=["recipe", "seed", "epoch"],
        value_vars=["att", "peak", "held-out loss"],
        var_name="measure",
    )
    long["run"] = long["recipe"] + ", seed " + long["seed"].astype(str)
    fig = px.line(
        long,
        x="epoch",
        y="value",
        color="recipe",
        line_dash="seed",
        facet_col="measure",
        markers=True,
        hover_data=["run"],
    )
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig.add_hline(y=ATT_MAX, line_dash="dot", line_color="grey", col=1)
    fig.update_layout(
        title="The two recipes while they trained (held-out scenes)<br><sup>att: (1 − cos)/2 "
        "between rows (dotted: 0.05); peak: the mean row's strongest key over a uniform share; "
        "held-out loss: flat means the pool was not memorised</sup>",
        height=380,
        margin={"t": 100},
    )
    return fig


def _nothing_yet(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, height=200)
    return fig
