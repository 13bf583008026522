"""viz.analysis.query_reading: GCNet's finding read with three outcomes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from viz.analysis.numpy_stats import mean_row_entropy, mean_row_peak
from viz.analysis.query_reading import (
    FLAT,
    QUERY_DEPENDENT,
    QUERY_INDEPENDENT,
    classify,
    query_reading,
    reading_of_stats,
)
from viz.analysis.training_stats import mean_row_entropy as batched_entropy
from viz.analysis.training_stats import mean_row_peak as batched_peak


def test_three_outcomes_at_the_thresholds():
    assert classify(0.02, 0.40, 5.0) == QUERY_INDEPENDENT
    assert classify(0.05, 0.25, 3.0) == QUERY_INDEPENDENT  # the bounds are inclusive
    assert classify(0.02, 0.40, 2.9) == FLAT  # rows agree, but barely depart from uniform
    assert classify(0.051, 0.40, 5.0) == QUERY_DEPENDENT
    assert classify(0.02, 0.20, 5.0) == QUERY_DEPENDENT  # the inputs agree too


def test_identical_uniform_rows_are_flat_not_a_shared_map():
    rows = np.full((16, 16), 1 / 16)
    r = query_reading(0.0, 0.4, rows)
    assert r.outcome == FLAT and r.peak == pytest.approx(1.0) and r.entropy == pytest.approx(1.0)
    assert "Flat" in r.sentence and "1.0×" in r.sentence
    peaked = np.tile(np.r_[np.full(15, 0.02), 0.70], (16, 1))
    s = query_reading(0.0, 0.4, peaked, unary_share=0.9)
    assert s.outcome == QUERY_INDEPENDENT and s.peak == pytest.approx(0.70 * 16)
    assert "90%" in s.sentence


def test_numpy_peak_and_entropy_equal_the_training_statistics():
    rng = np.random.default_rng(0)
    for rows in (rng.dirichlet(np.full(20, 0.5), size=12), rng.normal(size=(12, 20))):
        t = torch.from_numpy(rows)[None]
        assert mean_row_peak(rows) == pytest.approx(float(batched_peak(t)[0]), rel=1e-5)
        assert mean_row_entropy(rows) == pytest.approx(float(batched_entropy(t)[0]), rel=1e-5)


def test_reading_of_a_manifest_row():
    r = reading_of_stats({"att": 0.3, "input": 0.4, "peak": 8.0, "entropy": 0.6})
    assert r.outcome == QUERY_DEPENDENT and r.unary_share is None
