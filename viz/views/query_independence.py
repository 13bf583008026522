"""The Query-independence page: maps for a grid of queries, Table 1 measured beside the zoo and
GCNet with a reading, the DNL split, GC's context map beside the mean Non-local map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz import figures
from viz.analysis.attribution import map_correlation
from viz.analysis.dnl import dnl_maps, dnl_share
from viz.analysis.forward import (
    Analysis,
    grid_queries,
    nl_grids,
    nl_layers,
    nl_statistics,
    records_of_kind,
)
from viz.analysis.numpy_stats import cosine_distance_matrix
from viz.attention import NL_KINDS, nl_form
from viz.figures.query_grid_payload import query_grid_payload
from viz.views.common import fmt, picture
from viz.views.explorer import explorer_id, geometry
from viz.views.nonlocal_ import PANEL_SIDE, _query_rows, nl_mean_map


@dataclass(frozen=True)
class LayerFigures:
    """One Non-local layer's query-grid figures: the composited maps of a grid of queries and the
    query x query distance matrix of their attention rows. ``label`` ("backbone · path") names the
    layer beside its figures, so no caller parses it out of a key."""

    label: str
    maps: go.Figure
    distance: go.Figure


@dataclass(frozen=True)
class QueryIndependenceFigures:
    """The Query-independence page's figures that do not depend on its sliders. ``table1`` is
    ``None`` when no Non-local layer was measured; ``gc_vs_nl`` when no GC run (or no NL layer)
    was given; ``layers`` holds every layer's query maps when asked for (the app builds only the
    layer on show, with :func:`qi_query_maps`), else it is empty."""

    table1: go.Figure | None
    gc_vs_nl: go.Figure | None
    layers: tuple[LayerFigures, ...]


def table1_measured(stats: Mapping) -> dict:
    """``nl_statistics`` keys -> Table-1 column keys (``input``, ``output``, ``att``, ``jsd``)."""
    return {
        "input": stats["cos_input"],
        "output": stats["cos_output"],
        "att": stats["cos_att"],
        "jsd": stats["jsd_att"],
    }


def reading(measured: Mapping[str, Mapping]) -> str:
    """Table 1 on this image in one sentence (form -> stats): the numbers only. The verdict is
    the three-outcome reading (:mod:`viz.analysis.query_reading`), which also weighs whether the
    shared map departs from uniform; a ratio of att to input alone cannot tell flat rows from one
    shared map."""
    if not measured:
        return "No Non-local block was measured."
    att = float(np.mean([s["att"] for s in measured.values()]))
    inp = float(np.mean([s["input"] for s in measured.values()]))
    out = float(np.mean([s["output"] for s in measured.values()]))
    forms = ", ".join(measured)
    text = (
        f"Attention rows differ by {fmt(att)} on average while inputs differ by {fmt(inp)} "
        f"(outputs by {fmt(out)}). Measured on this image for: {forms}."
    )
    by_att = sorted(measured.items(), key=lambda kv: kv[1]["att"])
    if len(by_att) > 1:
        (lo_form, lo), (hi_form, hi) = by_att[0], by_att[-1]
        text += (
            f" Most alike across queries: {lo_form} (att {fmt(lo['att'])}); "
            f"least alike: {hi_form} (att {fmt(hi['att'])})."
        )
    return text


def qi_query_maps(an: Analysis, path: str, grid: int = 4, opacity: float = 0.6) -> LayerFigures:
    """One Non-local layer's maps for a ``grid`` x ``grid`` grid of queries (composited panels, one
    small JPEG each) and the query x query distance matrix of their attention rows."""

    rec = an.records[path]
    label = f"{an.backbone} · {path}"
    (h, w), _ = nl_grids(rec)
    queries = grid_queries((h, w), grid)
    maps = _query_rows(rec, queries)
    maps_fig = figures.composited_query_maps(
        picture(an),
        figures.QueryPanels(
            maps,
            queries,
            (h, w),
            titles=[f"({r}, {c})" for r, c in queries],
            opacity=opacity,
            cols=min(grid, 4),
        ),
        side=PANEL_SIDE if grid <= 4 else 120,
    )
    qrows = np.stack([rec.tensors["attention"][r * w + c] for r, c in queries])
    distance = figures.distance_matrix(
        cosine_distance_matrix(qrows),
        [f"({r},{c})" for r, c in queries],
        title=f"{label}: (1 − cos)/2 between the attention rows of {len(queries)} queries",
    )
    return LayerFigures(label=label, maps=maps_fig, distance=distance)


QUERY_GRID_SIZES = (2, 3, 4, 5, 6)  # the k x k grids the page's query grid offers


def qi_query_grid(an: Analysis, path: str, k: int = 4, opacity: float = 0.6) -> dict:
    """The in-browser query grid's payload for one Non-local layer: every k x k grid of
    :data:`QUERY_GRID_SIZES` with its exact distances, so moving k or the opacity runs no Python
    (what :func:`qi_query_maps` draws as plotly figures, for one k)."""
    rec = an.records[path]
    grid_hw, keys_hw = nl_grids(rec)
    att = rec.tensors["attention"]
    grids = {}
    for size in QUERY_GRID_SIZES:
        queries = grid_queries(grid_hw, size)
        rows = np.stack([att[r * grid_hw[1] + c] for r, c in queries])
        grids[size] = (queries, cosine_distance_matrix(rows))
    return query_grid_payload(
        an.image,
        att,
        grid_hw,
        keys_hw,
        grids,
        payload_id=explorer_id(an, "query_grid", path),
        label=f"{an.backbone} · {path}",
        k=k,
        opacity=opacity,
        **geometry(an),
    )


def nl_runs_layers(
    analysis: Analysis, others: Sequence[Analysis] = ()
) -> list[tuple[Analysis, str]]:
    """(run, layer path) of every Non-local layer of ``analysis`` and ``others``, each run once."""
    out, seen = [], set()
    for an in (analysis, *others):
        if (an.backbone, an.image_hash) in seen:
            continue
        seen.add((an.backbone, an.image_hash))
        out += [(an, path) for path in records_of_kind(an, NL_KINDS)]
    return out


def query_independence_view(
    analysis: Analysis,
    grid: int = 4,
    others: Sequence[Analysis] = (),
    gc: Analysis | None = None,
    opacity: float = 0.6,
    maps: bool = True,
) -> tuple[QueryIndependenceFigures, pd.DataFrame, str]:
    """GCNet's reproduction for every Non-local layer in ``analysis`` and ``others``.

    Args:
        analysis: the current run.
        grid: the query grid is ``grid`` x ``grid`` cells spread over the map.
        others: more runs of the same image (e.g. the four zoo NL forms).
        gc: a run with a GC block, whose context map is drawn beside the mean NL map.
        opacity: heat-map opacity over the image.
        maps: also build every layer's query maps and distances (the app builds only the layer on
            show, with :func:`qi_query_maps`).

    Returns:
        the figures, the statistics table (one row per layer) and the computed reading.
    """
    layers: list[LayerFigures] = []
    rows, measured, zoo_table = [], {}, {}
    means: dict[str, np.ndarray] = {}
    for an, path in nl_runs_layers(analysis, others):
        rec = an.records[path]
        label = f"{an.backbone} · {path}"
        if maps:
            layers.append(qi_query_maps(an, path, grid, opacity))
        stats = nl_statistics(rec, key=(an.backbone, an.image_hash, path))
        form = nl_form(rec.kind)
        measured.setdefault(form, table1_measured(stats))
        if an.meta.get("table1"):
            zoo_table.setdefault(form, an.meta["table1"])
        means.setdefault(label, nl_mean_map(rec))
        rows.append(
            {
                "backbone": an.backbone,
                "layer": path,
                "form": form,
                "N": stats["N"],
                "N_keys": stats["N_keys"],
                "input": stats["cos_input"],
                "output": stats["cos_output"],
                "att": stats["cos_att"],
                "jsd": stats["jsd_att"],
            }
        )
    table1 = figures.table1_comparison(measured, zoo=zoo_table or None) if measured else None
    gc_vs_nl = gc_nl_figure(gc, *next(iter(means.items()))) if gc is not None and means else None
    frame = pd.DataFrame(
        rows, columns=["backbone", "layer", "form", "N", "N_keys", "input", "output", "att", "jsd"]
    )
    figs = QueryIndependenceFigures(table1=table1, gc_vs_nl=gc_vs_nl, layers=tuple(layers))
    return figs, frame, reading(measured)


def gc_nl_figure(gc: Analysis, nl_label: str, nl_mean: np.ndarray) -> go.Figure | None:
    """GC's context map beside a mean Non-local map (each min-max scaled), or None without GC.

    Args:
        gc: a run with a GC block.
        nl_label: what the NL map is (``backbone · layer``).
        nl_mean: that layer's mean attention row as a key-grid map.
    """
    ctx = records_of_kind(gc, "gc")
    if not ctx:
        return None
    gc_rec = next(iter(ctx.values()))
    return figures.composited_query_maps(
        picture(gc),
        figures.QueryPanels(
            [gc_rec.tensors["context"], nl_mean],
            None,
            gc_rec.tensors["context"].shape,
            titles=[f"GC context ({gc.backbone})", f"mean NL map ({nl_label})"],
            opacity=0.5,
            cols=2,
        ),
        side=2 * PANEL_SIDE,
        normalize=True,
        title="GC's context map and the mean Non-local map<br><sup>each map min–max scaled</sup>",
    )


def gc_vs_nl_view(gc: Analysis, nl: Analysis) -> go.Figure | None:
    """:func:`gc_nl_figure` for ``nl``'s first Non-local layer (what the page shows)."""
    layers = nl_layers(nl)
    if not layers:
        return None
    return gc_nl_figure(gc, f"{nl.backbone} · {layers[0]}", nl_mean_map(nl.records[layers[0]]))


def table1_table(frame: pd.DataFrame, analyses: Sequence[Analysis] = ()) -> pd.DataFrame:
    """Table 1 as a table: the paper's COCO and Kinetics rows, the zoo's held-out values and the
    values measured on this image (first layer of each form in ``frame``)."""
    measured = {
        row.form: {"input": row.input, "output": row.output, "att": row.att, "jsd": row.jsd}
        for row in frame.drop_duplicates("form").itertuples()
    }
    zoo = {}
    for an in analyses:
        if an.meta.get("table1"):
            for kind in an.kinds:
                if kind in NL_KINDS:
                    zoo.setdefault(nl_form(kind), an.meta["table1"])
    return figures.table1_frame(measured, zoo=zoo or None)


def dnl_view(
    an: Analysis, path: str, queries: Sequence[tuple[int, int]]
) -> tuple[go.Figure | None, float | None, str]:
    """DNL's split of one NL layer on this image: the shared map, pairwise maps, the unary share.

    Returns ``(None, None, why)`` for records without the split (concatenation has query/key terms
    instead; foreign layers record no split).
    """
    rec = an.records[path]
    (h, w), key_hw = nl_grids(rec)
    if "unary" not in rec.tensors:
        if "key_term" in rec.tensors:
            return (
                None,
                1.0,
                "Concatenation: logit = w_θᵀθ_i + w_φᵀφ_j — the query term only shifts a row "
                "before the ReLU, so the key term alone shapes every map (share 100 % by "
                "construction).",
            )
        return None, None, f"{path} records no DNL split."
    unary, pairwise = rec.tensors["unary"], rec.tensors["pairwise"]
    share = dnl_share(unary, pairwise)
    softmax = rec.kind in ("nl_gaussian", "nl_embedded_gaussian")
    idx = [r * w + c for r, c in queries]
    maps = dnl_maps(unary, pairwise, idx, key_hw, softmax=softmax)
    fig = figures.dnl_figure(maps, queries, (h, w), share, f"{an.backbone} · {path}")
    pair_sd = float(pairwise.std(axis=1).mean())
    unary_sd = float(unary.std())
    text = (
        f"Over keys, the shared term varies by {unary_sd:.3g} (s.d.) and the query-specific term "
        f"by {pair_sd:.3g} on average: the unary term explains {share:.0%} of the logits' "
        "variance. "
        + (
            "Most of each map is the same for every query — GCNet's observation, explained by DNL."
            if share >= 0.5
            else "Each query's own term dominates: the maps differ by query here."
        )
    )
    return fig, share, text


def gc_nl_correlation(gc: Analysis, nl: Analysis) -> float | None:
    """Pearson r between GC's context map and the first NL layer's mean attention map."""

    ctx = records_of_kind(gc, "gc")
    layers = records_of_kind(nl, NL_KINDS)
    if not ctx or not layers:
        return None
    rec = next(iter(layers.values()))
    return map_correlation(next(iter(ctx.values())).tensors["context"], nl_mean_map(rec))
