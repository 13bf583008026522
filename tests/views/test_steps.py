"""viz.views.steps: the five-step walk's figures and readings, measured on a run, never canned."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from nl_records import synthetic_nl_analysis
from tiny_backbone import _build, register_tiny, tiny_image

from viz import views
from viz.analysis.attribution import map_correlation
from viz.analysis.forward import (
    DEFAULT_BACKBONE,
    Analysis,
    analyse,
    nl_grids,
    nl_layers,
    nl_statistics,
)
from viz.capture.recorder import Record
from viz.views import step_readings as readings
from viz.views import steps
from viz.views.step_models import held_out_scores, zoo_scores


@pytest.fixture(scope="module")
def analysis():
    return analyse(_build("cpu"), tiny_image(), "h")


def _title(fig) -> str:
    return fig.layout.title.text or ""


def test_every_step_has_titled_figures_a_reading_and_numbers(analysis):
    path = nl_layers(analysis)[0]
    for i, title in enumerate(views.STEP_TITLES):
        step = views.gcnet_step(i, analysis, path, analysis)
        assert (step.index, step.title) == (i, title)
        assert step.figures and all(_title(f) for f in step.figures), i
        assert step.reading and step.numbers
        assert [label for label, _ in step.metrics()] == list(step.numbers)
        with pytest.raises(dataclasses.FrozenInstanceError):
            step.reading = "canned"
    # the concatenation form has no unary/pairwise split: step 4 draws its key-term map instead
    concat = next(p for p in nl_layers(analysis) if "concatenation" in analysis.records[p].kind)
    split = views.gcnet_step(3, analysis, concat, analysis)
    assert "key term" in _title(split.figures[0]) and "by construction" in split.reading


def test_step_numbers_are_the_measured_ones(analysis):
    path = nl_layers(analysis)[1]
    rec = analysis.records[path]
    (h, w), _ = nl_grids(rec)
    att = rec.tensors["attention"].astype(np.float64)
    stats = nl_statistics(rec)

    three = views.gcnet_step(1, analysis, path)
    queries = steps.three_queries((h, w))
    assert len(queries) == 3 and len(set(queries)) == 3
    rows = np.stack([att[r * w + c] for r, c in queries])
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    d = (1 - unit @ unit.T) / 2
    assert three.numbers["these maps' distance"] == pytest.approx(
        d[~np.eye(3, dtype=bool)].mean(), abs=1e-6
    )
    assert three.numbers["all queries' distance"] == pytest.approx(stats["cos_att"])

    table = views.gcnet_step(2, analysis, path)
    assert views.fmt(stats["cos_att"]) in table.reading
    assert table.numbers["att GCNet (COCO)"] == 0.020  # embedded Gaussian, the paper's COCO row

    gc = views.gcnet_step(4, analysis, path, analysis)
    ctx = next(r for r in analysis.records.values() if r.kind == "gc").tensors["context"]
    r = map_correlation(ctx, att.mean(axis=0).reshape(h, w))
    assert gc.numbers["correlation r"] == pytest.approx(r, abs=1e-4)  # float32 mean
    assert f"r = {views.fmt(r, 2)}" in gc.reading
    assert "one network" in gc.reading  # the tiny net carries both blocks: no scores compared


def test_readings_follow_the_data_same_map_vs_different_maps():
    rng = np.random.default_rng(1)
    shared = rng.dirichlet(np.full(16, 0.3))  # peaked, far from uniform
    same = synthetic_nl_analysis(np.tile(shared, (16, 1)))
    differ = synthetic_nl_analysis(rng.dirichlet(np.full(16, 0.3), size=16))
    same_three = views.gcnet_step(1, same, "nl")
    differ_three = views.gcnet_step(1, differ, "nl")
    assert "nearly the same map" in same_three.reading
    assert "clearly different maps" in differ_three.reading
    assert "Query-independent, one shared map" in views.gcnet_step(2, same, "nl").reading
    assert "Query-dependent" in views.gcnet_step(2, differ, "nl").reading
    assert "dominates: that is why the maps agree" in views.gcnet_step(3, same, "nl").reading
    assert views.gcnet_step(3, same, "nl").numbers["unary share"] == pytest.approx(1.0)
    # identical *uniform* rows are not GCNet's finding: the entropy guard says so
    flat = views.gcnet_step(2, synthetic_nl_analysis(np.full((16, 16), 1 / 16)), "nl")
    assert "Flat" in flat.reading and flat.numbers["mean row entropy"] == pytest.approx(1)
    assert flat.numbers["peak / uniform"] == pytest.approx(1)


def test_changing_a_number_changes_the_reading():
    a = readings.query_reading((14, 14), 196, (7, 7), (3, 4), 1.2)
    b = readings.query_reading((14, 14), 196, (7, 7), (3, 4), 6.0, 0.4)
    assert "nearly flat" in a and "6.0×" in b and "40% of the whole row" in b
    assert "14×14" in a and "N = 196" in a
    near = readings.three_queries_reading(
        [("a", "b", 0.01), ("a", "c", 0.02), ("b", "c", 0.01)], 0.02, 0.020, "Embedded Gaussian"
    )
    far = readings.three_queries_reading(
        [("a", "b", 0.39), ("a", "c", 0.40), ("b", "c", 0.38)], 0.41, 0.020, "Embedded Gaussian"
    )
    mixed = readings.three_queries_reading(
        [("(2, 2)", "(7, 7)", 0.49), ("(2, 2)", "(11, 11)", 0.49), ("(7, 7)", "(11, 11)", 0.016)],
        0.41,
        0.020,
        "Embedded Gaussian",
    )
    assert "nearly the same map" in near and "clearly different" in far and "0.390" in far
    assert "(7, 7) and (11, 11) draw nearly the same map (0.016)" in mixed
    assert "0.332 on average" in mixed
    paper = {"input": 0.402, "output": 0.012, "att": 0.020}
    low = readings.table1_reading(
        {"input": 0.40, "output": 0.01, "att": 0.02}, paper, "EG", peak=5.0, entropy=0.8
    )
    flat = readings.table1_reading(
        {"input": 0.40, "output": 0.01, "att": 0.02}, paper, "EG", peak=1.3, entropy=0.99
    )
    high = readings.table1_reading({"input": 0.37, "output": 0.2, "att": 0.39}, paper, "EG")
    assert "Query-independent, one shared map" in low and "5.0×" in low
    assert "Flat" in flat and "1.3×" in flat
    assert "0.390 here vs 0.020" in high and "19.5×" in high and "Query-dependent" in high
    assert readings.split_reading(0.9, 0.1, False) != readings.split_reading(0.2, 0.1, False)
    assert "90%" in readings.split_reading(0.9, 0.1, False)
    assert "differ by query" in readings.split_reading(0.2, 0.1, False)
    scores = {"gc": 0.347, "nl": 0.357, "nl_seed1": 0.360, "baseline": 0.349}
    within = readings.gc_reading(0.8, 0.1, {**scores, "nl_seed1": 0.345})
    beyond = readings.gc_reading(0.1, 0.1, scores)
    assert "r = 0.80: alike" in within and "within seed noise" in within
    assert "not alike" in beyond and "less than the gap" in beyond and "+0.010" in beyond
    assert "not compared" in readings.gc_reading(0.5, 0.1, scores, "not compared here")


def test_models_fall_back_to_the_default_nonlocal_and_pick_gc():
    tiny = register_tiny()
    own = views.steps_models(tiny, [tiny, "zoo/gc"])
    assert (own.nl, own.gc, own.note) == (tiny, tiny, "")  # the tiny net carries a GC block too
    none = views.steps_models("not/a-backbone", ["zoo/gc"])
    assert none.nl == DEFAULT_BACKBONE and "has no Non-local block" in none.note
    assert none.gc == "zoo/gc"
    assert views.steps_models(None, []).nl == DEFAULT_BACKBONE


def test_bad_step_or_layer_is_refused_and_missing_gc_is_said(analysis):
    path = nl_layers(analysis)[0]
    with pytest.raises(ValueError, match="no step 5"):
        views.gcnet_step(5, analysis, path)
    gc_path = next(p for p, r in analysis.records.items() if r.kind == "gc")
    with pytest.raises(ValueError, match="not a Non-local record"):
        views.gcnet_step(0, analysis, gc_path)
    alone = views.gcnet_step(4, analysis, path, None)
    assert "No GC model" in alone.reading and _title(alone.figures[0])


def test_held_out_scores_compare_only_like_with_like():
    def run(name: str, **meta) -> Analysis:
        return Analysis(name, "h", np.zeros((8, 8, 3), np.uint8), [], {}, meta=meta)

    zoo = {"metric": "mAP", "dataset": "scenes"}
    scores, why = held_out_scores(
        run("zoo/nl_dot_product", accuracy=0.355, **zoo), run("zoo/gc", accuracy=0.347, **zoo)
    )
    assert why is None and (scores["nl"], scores["gc"]) == (0.355, 0.347)
    manifest = zoo_scores()
    assert scores["nl_seed1"] == manifest.get("nl_dot_product@seed1")
    assert scores["baseline"] == manifest.get("baseline")
    _, why = held_out_scores(
        run("official/nl", accuracy=38.0, metric="box AP", dataset="COCO"),
        run("zoo/gc", accuracy=0.347, **zoo),
    )
    assert "different data or metrics" in why
    _, why = held_out_scores(run("test/x", **zoo), run("zoo/gc", accuracy=0.347, **zoo))
    assert "No held-out score is recorded for test/x" in why


def test_step_one_follows_the_chosen_query(analysis):
    path = nl_layers(analysis)[1]
    centre = views.gcnet_step(0, analysis, path)
    corner = views.gcnet_step(0, analysis, path, query=(0, 1))
    assert "Query (4, 4)" in centre.reading and "Query (0, 1)" in corner.reading
    row = analysis.records[path].tensors["attention"][1]
    assert corner.numbers["heaviest key ÷ mean"] == pytest.approx(row.max() / row.mean(), rel=1e-5)
    with pytest.raises(ValueError, match="outside the 8×8 grid"):
        views.gcnet_step(0, analysis, path, query=(8, 0))


def test_every_step_works_with_sub_sampled_keys():
    """Blocks that pool their keys (the converted mmdetection ones) have N' < N: a 4×4 query grid
    over a 2×2 key grid."""
    rng = np.random.default_rng(4)
    rows = rng.dirichlet(np.ones(4), size=16)
    an = synthetic_nl_analysis(
        np.zeros((16, 16)) + 1 / 16
    )  # borrow inputs / image, then swap the record
    tensors = dict(an.records["nl"].tensors)
    logits = np.log(rows)
    unary = logits.mean(axis=0)
    tensors.update(
        attention=rows.astype(np.float32),
        unary=unary.astype(np.float32),
        pairwise=(logits - unary[None, :]).astype(np.float32),
        keys_shape=np.array([2, 2]),
    )
    pooled = dataclasses.replace(
        an, image_hash="pooled", records={"nl": Record("nl_embedded_gaussian", tensors)}
    )
    for i in range(len(views.STEP_TITLES)):
        step = views.gcnet_step(i, pooled, "nl", pooled)
        assert step.figures and all(_title(f) for f in step.figures), i
    assert "attention row of 4 weights" in views.gcnet_step(0, pooled, "nl").reading
