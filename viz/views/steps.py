"""The "GCNet in five steps" page, a presenter's walk through GCNet's argument on the user's photo:
what a query is, three queries' maps, Table 1, DNL's unary/pairwise split, GC's one map. Each step
is built alone (the page shows one at a time) from measured numbers; its reading is written from
those numbers by :mod:`viz.views.step_readings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from viz import figures
from viz.analysis.attribution import map_correlation
from viz.analysis.forward import (
    Analysis,
    grid_queries,
    nl_grids,
    nl_statistics,
    records_of_kind,
)
from viz.analysis.numpy_stats import cosine_distance_matrix, rows_are_distributions
from viz.analysis.paper import GCNET_TABLE1, NL_FORM_TITLES
from viz.analysis.row_maps import mean_distance_to, unary_only_map
from viz.attention import NL_KINDS, nl_form
from viz.capture.recorder import Record
from viz.figures.steps import accuracy_bars
from viz.views import step_readings as readings
from viz.views.common import fmt
from viz.views.gcnet_recipe import layer_reading
from viz.views.nonlocal_ import nl_mean_map
from viz.views.query_independence import dnl_view, table1_measured
from viz.views.step_models import held_out_scores

STEP_TITLES: tuple[str, ...] = (
    "What a query position is",
    "Three queries, three maps? (GCNet's Fig. 1)",
    "Table 1: measured here beside the paper",
    "Why the maps agree (or not): the unary / pairwise split",
    "One map for every query: GC beside the Non-local mean map",
)

PANEL = 240  # px per composited panel: large enough to read from the back of a room


@dataclass(frozen=True)
class Step:
    """One step of the walk: its title, figures (each titled), the computed reading, the numbers
    the reading was written from (label -> value; ``None`` where a value does not exist) and a
    caption saying what the figures show."""

    index: int
    title: str
    figures: tuple[go.Figure, ...]
    reading: str
    numbers: Mapping[str, float | int | None] = field(default_factory=dict)
    note: str = ""

    def metrics(self) -> list[tuple[str, str]]:
        """(label, text) per number: integers as integers, ratios of 10 and more with one
        decimal, the rest with three."""

        def text(v) -> str:
            if isinstance(v, (int, np.integer)):
                return str(v)
            return fmt(v, 1) if v is not None and abs(float(v)) >= 10 else fmt(v)

        return [(k, text(v)) for k, v in self.numbers.items()]


def _rows(record: Record, queries: Sequence[tuple[int, int]]) -> np.ndarray:
    (_, w), _ = nl_grids(record)
    att = record.tensors["attention"]
    return np.stack([att[r * w + c] for r, c in queries])


def three_queries(grid_hw: tuple[int, int]) -> list[tuple[int, int]]:
    """Three queries on the diagonal of a 3 × 3 spread (top left, centre, bottom right); fewer on
    grids narrower than three cells."""
    spread = grid_queries(grid_hw, 3)
    cols = len({c for _, c in spread})
    rows = len(spread) // cols
    return [spread[i * cols + i] for i in range(min(rows, cols))]


def _form(record: Record) -> tuple[str, str, dict]:
    form = nl_form(record.kind)
    return form, NL_FORM_TITLES.get(form, form), GCNET_TABLE1["COCO"].get(form, {})


def _mean_pair_distance(d: np.ndarray) -> float | None:
    k = d.shape[0]
    return float(d[~np.eye(k, dtype=bool)].mean()) if k >= 2 else None


def _step_query(nl: Analysis, path: str, query: tuple[int, int] | None = None) -> Step:
    rec = nl.records[path]
    (h, w), (kh, kw) = nl_grids(rec)
    query = (h // 2, w // 2) if query is None else (int(query[0]), int(query[1]))
    if not (0 <= query[0] < h and 0 <= query[1] < w):
        raise ValueError(f"query {query} is outside the {h}×{w} grid of {path}")
    row = rec.tensors["attention"][query[0] * w + query[1]]
    peak = int(np.argmax(row))
    mean = float(row.mean())
    ratio = float(row.max()) / mean if mean > 0 else None
    share = float(row.max()) if rows_are_distributions(rec.tensors["attention"]) else None
    fig = figures.click_grid_figure(
        nl.image,
        (h, w),
        queries=[query],
        heat=row.reshape(kh, kw),
        opacity=0.55,
        title=f"Query ({query[0]}, {query[1]}) on the {h}×{w} grid and its attention row",
        height=600,
        uirevision="steps-query",
        max_side=512,  # sent at about the size it is drawn: 318 KB at the default 768 / 256
        heat_side=64,
    )
    return Step(
        0,
        STEP_TITLES[0],
        (fig,),
        readings.query_reading((h, w), kh * kw, query, divmod(peak, kw), ratio, share),
        {"query positions N": h * w, "keys N′": kh * kw, "heaviest key ÷ mean": ratio},
        f"Grid lines: the block's {h}×{w} positions; red cross: the query; colour: the weight "
        f"its attention row gives each key ({nl.backbone} · {path}).",
    )


def _step_three(nl: Analysis, path: str) -> Step:
    rec = nl.records[path]
    (h, w), (kh, kw) = nl_grids(rec)
    form, title, paper = _form(rec)
    queries = three_queries((h, w))
    rows = _rows(rec, queries)
    labels = [f"({r}, {c})" for r, c in queries]
    maps = figures.composited_query_maps(
        nl.image,
        figures.QueryPanels(
            [r.reshape(kh, kw) for r in rows],
            queries,
            (h, w),
            titles=[f"query {s}" for s in labels],
            opacity=0.6,
            cols=3,
        ),
        side=PANEL,
        title=f"{len(queries)} queries' attention maps on your photo ({title})",
    )
    d = np.maximum(cosine_distance_matrix(rows), 0.0)
    dist = figures.distance_matrix(d, labels, title="(1 − cos)/2 between the three queries' rows")
    pair = _mean_pair_distance(d)
    stats = nl_statistics(rec, key=(nl.backbone, nl.image_hash, path))
    return Step(
        1,
        STEP_TITLES[1],
        (maps, dist),
        readings.three_queries_reading(
            [
                (labels[i], labels[j], float(d[i, j]))
                for i in range(len(labels))
                for j in range(i + 1, len(labels))
            ],
            stats["cos_att"],
            paper.get("att"),
            title,
        ),
        {
            "these maps' distance": pair,
            "all queries' distance": stats["cos_att"],
            "GCNet (COCO)": paper.get("att"),
        },
        "GCNet's Fig. 1 drew the maps of three queries on COCO photos and found them nearly "
        "the same. Here: the same three cells on your photo, and how far apart their rows are.",
    )


def _step_table1(nl: Analysis, path: str) -> Step:
    rec = nl.records[path]
    form, title, paper = _form(rec)
    stats = nl_statistics(rec, key=(nl.backbone, nl.image_hash, path))
    measured = table1_measured(stats)
    zoo = nl.meta.get("table1") if form in NL_FORM_TITLES else None
    fig = figures.table1_comparison(
        {form: measured} if form in NL_FORM_TITLES else {}, zoo={form: zoo} if zoo else None
    )
    zoo_att = zoo.get("att") if zoo else None
    reading = layer_reading(nl, path)
    return Step(
        2,
        STEP_TITLES[2],
        (fig,),
        readings.table1_reading(
            measured, paper, title, zoo_att, reading.peak, reading.entropy, reading.unary_share
        ),
        {
            "att here": measured["att"],
            "att GCNet (COCO)": paper.get("att"),
            "input here": measured["input"],
            "output here": measured["output"],
            "mean row entropy": reading.entropy,
            "peak / uniform": reading.peak,
        },
        "Distances (1 − cos)/2 between positions, averaged over every pair: of the block's "
        "inputs, outputs (z − x) and attention rows. GCNet: small att and output distances "
        "beside large input distances.",
    )


def _step_split(nl: Analysis, path: str) -> Step:
    rec = nl.records[path]
    (h, w), (kh, kw) = nl_grids(rec)
    queries = three_queries((h, w))
    fig, share, _ = dnl_view(nl, path, queries)
    shared = unary_only_map(rec)
    distance = mean_distance_to(rec.tensors["attention"], shared) if shared is not None else None
    concatenation = rec.kind == "nl_concatenation"
    if fig is None:
        heat, what = (
            (shared.reshape(kh, kw), "the map the key term alone draws, the same for every query")
            if shared is not None
            else (nl_mean_map(rec), "no split recorded: the mean attention row")
        )
        fig = figures.spatial_overlay(
            nl.image, heat, opacity=0.6, title=f"{nl.backbone} · {path}: {what}", height=560
        )
    return Step(
        3,
        STEP_TITLES[3],
        (fig,),
        readings.split_reading(share, distance, concatenation),
        {"unary share": share, "rows vs unary-only map": distance},
        "Each logit splits exactly: q_iᵀk_j = (q_i − μ_q)ᵀk_j + μ_qᵀk_j (DNL, Yin et al. 2020). "
        "The second, unary term is the same for every query i; where it dominates, every query "
        "draws nearly the same map.",
    )


def _step_gc(nl: Analysis, path: str, gc: Analysis | None) -> Step:
    rec = nl.records[path]
    mean = nl_mean_map(rec)
    ctx_records = records_of_kind(gc, "gc") if gc is not None else {}
    if gc is None or not ctx_records:
        fig = figures.spatial_overlay(
            nl.image, mean, opacity=0.6, title=f"{nl.backbone} · {path}: mean Non-local map"
        )
        return Step(
            4,
            STEP_TITLES[4],
            (fig,),
            "No GC model could run here, so only the Non-local mean map is shown; the zoo's "
            "zoo/gc checkpoint draws GC's map.",
            {},
        )
    gc_path, gc_rec = next(iter(ctx_records.items()))
    ctx = gc_rec.tensors["context"]
    r = map_correlation(ctx, mean)
    moved = mean_distance_to(rec.tensors["attention"], mean.ravel())
    maps = figures.composited_query_maps(
        gc.image,
        figures.QueryPanels(
            [ctx, mean],
            None,
            ctx.shape,
            titles=[f"GC context ({gc.backbone})", f"Non-local mean ({nl.backbone})"],
            opacity=0.5,
            cols=2,
        ),
        side=PANEL,
        normalize=True,
        title="GC's one context map beside the mean of every Non-local row"
        "<br><sup>each map min–max scaled</sup>",
    )
    scores, why_not = held_out_scores(nl, gc)
    metric = str(nl.meta.get("metric") or "score")
    labels = {"baseline": "no block", "gc": "GC", "nl": "Non-local", "nl_seed1": "NL, seed 1"}
    shown = [k for k in ("baseline", "gc", "nl", "nl_seed1") if k in ("gc", "nl") or scores.get(k)]
    bars = accuracy_bars(
        [labels[k] for k in shown],
        [scores[k] for k in shown],
        highlight=[labels["gc"], labels["nl"]],
        metric=metric,
        title=f"Held-out {metric}: {gc.backbone} vs {nl.backbone}",
    )
    return Step(
        4,
        STEP_TITLES[4],
        (maps, bars),
        readings.gc_reading(r, moved, scores, why_not, metric),
        {
            "correlation r": r,
            "rows vs mean map": moved,
            f"GC {metric}": scores["gc"],
            f"Non-local {metric}": scores["nl"],
        },
        f"GCNet's conclusion: if every query draws the same map, compute that one map once — GC's "
        f"context softmax(W_k x_j), {gc.backbone} · {gc_path}. Scores: held-out scenes "
        "(weights/manifest.json), not this photo.",
    )


def gcnet_step(
    index: int,
    nl: Analysis,
    path: str,
    gc: Analysis | None = None,
    query: tuple[int, int] | None = None,
) -> Step:
    """One step of the walk, built from measured numbers.

    Args:
        index: 0..4, the step to build.
        nl: a run with a Non-local block.
        path: that block's record path in ``nl``.
        gc: a run with a GC block (step 5 only; ``None``: the step says it is missing).
        query: step 1's query cell (row, col) on the layer's grid (``None``: the centre cell).

    Raises:
        ValueError: ``index`` is not a step, ``path`` is not a Non-local record of ``nl``, or
            ``query`` lies outside the layer's grid.
    """
    if not 0 <= int(index) < len(STEP_TITLES):
        raise ValueError(f"no step {index}: the walk has steps 0..{len(STEP_TITLES) - 1}")
    rec = nl.records.get(path)
    if rec is None or rec.kind not in NL_KINDS:
        raise ValueError(f"{path!r} is not a Non-local record of {nl.backbone}")
    if index == 0:
        return _step_query(nl, path, query)
    builders = (_step_three, _step_table1, _step_split)
    if index <= len(builders):
        return builders[index - 1](nl, path)
    return _step_gc(nl, path, gc)
