"""The "GCNet in five steps" page's readings: one or two sentences per step, written from the numbers
measured on the user's photo (never canned), so a presenter reads out what *this* image shows.
Each function takes only numbers, so a test can change a number and watch the sentence change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from viz.analysis.query_reading import QueryReading, classify
from viz.views.common import fmt

#: (1 − cos)/2 below which maps count as "the same map" (GCNet's trained forms sit at 0.003–0.020
#: on COCO, the Gaussian exception at 0.177) and above which they clearly differ.
SAME_MAP = 0.05


DIFFERENT_MAP = 0.15


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(float(value))


def _cell(cell: tuple[int, int]) -> str:
    return f"({int(cell[0])}, {int(cell[1])})"


def query_reading(
    grid_hw: tuple[int, int],
    n_keys: int,
    query: tuple[int, int],
    peak_key: tuple[int, int],
    peak_ratio: float | None,
    peak_share: float | None = None,
) -> str:
    """Step 1: the grid, the query, and where its attention row puts the most weight.

    Args:
        grid_hw: the block's query grid (h, w).
        n_keys: N', the keys each row weighs.
        query: the marked query cell.
        peak_key: the key cell with the largest weight in the query's row.
        peak_ratio: that weight over the row's mean weight (None when the row is all zero).
        peak_share: that weight's share of the row's total (None unless rows sum to 1).
    """
    h, w = int(grid_hw[0]), int(grid_hw[1])
    text = (
        f"The Non-local block sees this photo as a {h}×{w} grid: N = {h * w} query positions. "
        f"Query {_cell(query)} owns one attention row of {int(n_keys)} weights, one per key "
        "position, and its output is those keys' features averaged with these weights."
    )
    if not _finite(peak_ratio):
        return text + " Its row is all zero on this photo: this query adds nothing."
    ratio = float(peak_ratio)
    if ratio < 1.5:
        return text + (
            f" Its row is nearly flat: the heaviest key, {_cell(peak_key)}, gets only "
            f"{ratio:.1f}× the mean weight."
        )
    share = f", {float(peak_share):.0%} of the whole row" if _finite(peak_share) else ""
    return text + (
        f" Its heaviest key is {_cell(peak_key)}, with {ratio:.1f}× the row's mean weight{share}."
    )


def three_queries_reading(
    pairs: Sequence[tuple[str, str, float]],
    layer_att: float,
    paper_att: float | None,
    form_title: str,
) -> str:
    """Step 2: how far apart three queries' maps are, against GCNet's Fig. 1 claim.

    Args:
        pairs: (query, query, (1 − cos)/2 between their rows) for every pair of the queries
            (empty: fewer than two fit on the grid).
        layer_att: the same distance averaged over every pair of queries of the layer.
        paper_att: GCNet's COCO att distance for this form (None: not in the paper).
        form_title: e.g. "Embedded Gaussian".
    """
    if not pairs:
        return (
            f"This layer's grid has room for fewer than two of the three queries; over all its "
            f"queries the maps differ by {fmt(layer_att)}."
        )
    d = float(np.mean([p[2] for p in pairs]))
    near, far = min(pairs, key=lambda p: p[2]), max(pairs, key=lambda p: p[2])
    if far[2] < SAME_MAP:
        verdict = "nearly the same map every time, as in GCNet's Fig. 1"
    elif near[2] >= DIFFERENT_MAP:
        verdict = "clearly different maps: each query looks somewhere else, unlike GCNet's Fig. 1"
    elif near[2] < SAME_MAP and far[2] >= DIFFERENT_MAP:
        verdict = (
            f"queries {near[0]} and {near[1]} draw nearly the same map ({fmt(near[2])}), but "
            f"{far[0]} and {far[1]} look at different places ({fmt(far[2])})"
        )
    else:
        verdict = "similar maps, but not the same one"
    paper = f" (GCNet, {form_title} on COCO: {fmt(paper_att)})" if _finite(paper_att) else ""
    return (
        f"These maps differ by {fmt(d)} on average (0 = identical, 0.5 = unrelated): "
        f"{verdict}. Over all queries of the layer the distance is {fmt(layer_att)}{paper}."
    )


def table1_reading(
    measured: Mapping[str, float | None],
    paper: Mapping[str, float | None],
    form_title: str,
    zoo_att: float | None = None,
    peak: float = 1.0,
    entropy: float = 1.0,
    unary_share: float | None = None,
) -> str:
    """Step 3: this photo's Table-1 row against GCNet's (COCO) for the same form, then the
    three-outcome reading (:mod:`viz.analysis.query_reading`).

    Args:
        measured: ``input``, ``output``, ``att`` distances measured on this photo.
        paper: GCNet's COCO ``input``, ``output``, ``att`` for the form.
        form_title: e.g. "Embedded Gaussian".
        zoo_att: the model's held-out att distance (its manifest), or None.
        peak: the mean row's strongest key over a uniform share (1 = uniform).
        entropy: the mean row's entropy over log N' (1 = uniform).
        unary_share: DNL's query-shared share of the logits, when recorded.
    """
    att, inp = float(measured["att"]), float(measured["input"])
    p_att, p_inp = paper.get("att"), paper.get("input")
    text = f"Attention distance {fmt(att)} here vs {fmt(p_att)} in GCNet ({form_title}, COCO)"
    if _finite(p_att) and float(p_att) > 0:
        text += f", {att / float(p_att):.1f}× the paper's"
    text += f"; inputs differ by {fmt(inp)} here vs {fmt(p_inp)} there. "
    reading = QueryReading(classify(att, inp, peak), att, inp, peak, entropy, unary_share)
    text += reading.sentence
    if _finite(zoo_att):
        text += f" Over held-out scenes this model's att is {fmt(zoo_att)}."
    return text


def split_reading(share: float | None, unary_distance: float | None, concatenation: bool) -> str:
    """Step 4: DNL's answer to "why do the maps agree": the share of the shared (unary) term.

    Args:
        share: R² of the unary term in the logits' variance over keys (None: not recorded).
        unary_distance: mean (1 − cos)/2 between each row and the map the unary term alone draws.
        concatenation: the form whose query term only shifts a row (share 1 by construction).
    """
    if not _finite(share):
        return (
            "This layer records no unary / pairwise split, so the step cannot say why its maps "
            "agree or differ; the zoo's Non-local models record it."
        )
    s = float(share)
    dist = (
        f" Each real row is {fmt(unary_distance)} away from the map the shared term alone draws."
        if _finite(unary_distance)
        else ""
    )
    if concatenation:
        return (
            "Concatenation: the query term only shifts a row before the ReLU, so the key term "
            f"shapes every map (share {s:.0%} by construction).{dist}"
        )
    head = (
        f"The shared term μ_qᵀk_j, the same for every query, explains {s:.0%} of the logits' "
        "variance over keys on this photo; the other "
        f"{1 - s:.0%} is each query's own (q_i − μ_q)ᵀk_j."
    )
    if s >= 0.8:
        tail = " The shared term dominates: that is why the maps agree (GCNet's finding, as DNL explains it)."
    elif s >= 0.5:
        tail = " The shared term carries most of each map, so the maps largely agree."
    else:
        tail = " Each query's own term dominates, so the maps differ by query here."
    return head + tail + dist


def gc_reading(
    correlation: float | None,
    rows_to_mean: float | None,
    accuracy: Mapping[str, float | None],
    not_comparable: str | None = None,
    metric: str = "mAP",
) -> str:
    """Step 5: GC's one map against the Non-local mean map, and what each model scores.

    Args:
        correlation: Pearson r of GC's context map and the NL mean map on this photo.
        rows_to_mean: mean (1 − cos)/2 between each NL row and the NL mean map (what replacing
            every row by one map changes).
        accuracy: ``gc``, ``nl`` and optionally ``baseline`` and ``nl_seed1`` held-out scores.
        not_comparable: why the two scores cannot be set side by side (then they are not).
        metric: the scores' name.
    """
    if _finite(correlation):
        r = float(correlation)
        alike = "alike" if r >= 0.5 else ("loosely alike" if r >= 0.2 else "not alike")
        text = f"GC's single map and the Non-local mean map correlate at r = {fmt(r, 2)}: {alike}."
    else:
        text = "One of the two maps is constant on this photo, so their correlation is undefined."
    if _finite(rows_to_mean):
        text += (
            " Replacing every Non-local row by that mean map moves a row by "
            f"{fmt(rows_to_mean)} on average ((1 − cos)/2)."
        )
    gc, nl = accuracy.get("gc"), accuracy.get("nl")
    if not_comparable or not (_finite(gc) and _finite(nl)):
        return text + " " + (not_comparable or "The held-out scores of the two are not recorded.")
    gap = float(nl) - float(gc)
    text += f" Held-out {metric}: GC {fmt(gc)}, Non-local {fmt(nl)} ({gap:+.3f} for Non-local)"
    seed = accuracy.get("nl_seed1")
    if _finite(seed):
        spread = abs(float(seed) - float(nl))
        text += f"; the Non-local model's two seeds differ by {spread:.3f} (GC has one seed)"
        text += (
            ", so the gap is within seed noise." if abs(gap) <= spread else ", less than the gap."
        )
    else:
        text += "."
    base = accuracy.get("baseline")
    if _finite(base):
        text += f" Without any block: {fmt(base)}."
    return text
