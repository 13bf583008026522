"""viz.analysis.row_maps: the unary-only map (scale read off the rows), the entropy guard, the
distance of rows to one map."""

from __future__ import annotations

import numpy as np
import pytest

from viz.analysis import row_maps
from viz.capture.recorder import Record


def _softmax_record(scale: float, seed: int = 2) -> tuple[Record, np.ndarray]:
    rng = np.random.default_rng(seed)
    unary, pairwise = rng.normal(size=16), rng.normal(size=(16, 16))
    att = np.exp(scale * (pairwise + unary[None, :]))
    att /= att.sum(axis=1, keepdims=True)
    tensors = {"attention": att, "unary": unary, "pairwise": pairwise}
    return Record("nl_embedded_gaussian", tensors), unary


@pytest.mark.parametrize("scale", [1.0, 0.3, 40.0])
def test_softmax_scale_is_recovered_from_the_rows(scale):
    # at 40 most weights fall below the 1e-30 cut-off: the slope uses the weights that remain
    rec, unary = _softmax_record(scale)
    assert row_maps.softmax_scale(rec) == pytest.approx(scale, rel=1e-6)
    expected = np.exp(scale * (unary - unary.max()))
    assert np.allclose(row_maps.unary_only_map(rec), expected / expected.sum())


def test_unary_only_map_of_the_other_forms():
    rng = np.random.default_rng(3)
    unary = rng.normal(size=9)
    dot = Record("nl_dot_product", {"attention": np.zeros((4, 9)), "unary": unary})
    assert np.allclose(row_maps.unary_only_map(dot), unary / 9)
    key, query = rng.normal(size=9), rng.normal(size=4)
    concat = Record(
        "nl_concatenation", {"attention": np.zeros((4, 9)), "key_term": key, "query_term": query}
    )
    assert np.allclose(row_maps.unary_only_map(concat), np.maximum(key + query.mean(), 0) / 9)
    assert row_maps.unary_only_map(Record("nl_gaussian", {"attention": np.ones((4, 9))})) is None


def test_entropy_guard_and_distance_to_one_map():
    uniform = np.full((6, 6), 1 / 6)
    assert row_maps.mean_row_entropy(uniform) == pytest.approx(1.0)
    peaked = np.tile(np.array([0.9, 0.02, 0.02, 0.02, 0.02, 0.02]), (6, 1))
    assert row_maps.mean_row_entropy(peaked) < 0.5
    assert row_maps.mean_row_entropy(peaked * 3) is None  # rows that are not distributions
    assert row_maps.mean_distance_to(peaked, peaked[0]) == pytest.approx(0.0, abs=1e-12)
    eye = np.eye(2)
    assert row_maps.mean_distance_to(eye, np.array([1.0, 0.0])) == pytest.approx(0.25)
    assert row_maps.mean_distance_to(eye, np.zeros(2)) is None
