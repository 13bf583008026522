"""Statistics of pinned Non-local queries against direct numpy formulas."""

from __future__ import annotations

import io

import numpy as np

from viz.analysis.numpy_stats import cosine_distance_matrix, jsd_matrix
from viz.analysis.pins import pinned_npz, pinned_statistics


def _rows(n, k, seed=0):
    rng = np.random.default_rng(seed)
    e = np.exp(rng.normal(size=(n, k)) * 2)
    return e / e.sum(axis=1, keepdims=True)


def _jsd(p, q):
    m = (p + q) / 2
    return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))


def test_pinned_statistics_match_direct_formulas():
    att = _rows(16, 9)
    pins = [(0, 1), (3, 3), (2, 0)]
    s = pinned_statistics(att, pins + [(9, 9)], (4, 4), (3, 3))  # (9, 9) is off the grid
    assert s.queries == tuple(pins)
    rows = att[[1, 15, 8]]
    cos = rows @ rows.T / np.outer(np.linalg.norm(rows, axis=1), np.linalg.norm(rows, axis=1))
    np.testing.assert_allclose(s.cosine, (1 - cos) / 2, atol=1e-12)
    assert abs(s.jsd[0, 1] - _jsd(rows[0], rows[1])) < 1e-9
    np.testing.assert_allclose(s.jsd, jsd_matrix(rows), atol=1e-9)  # = the Table-1 code's JSD
    np.testing.assert_allclose(s.cosine, cosine_distance_matrix(rows), atol=1e-12)
    ent = -(rows * np.log(rows)).sum(axis=1) / np.log(9)
    np.testing.assert_allclose(s.entropy, ent)
    j = int(rows[2].argmax())
    assert s.peak[2] == rows[2].max() and s.peak_key[2] == (j // 3, j % 3)
    assert (
        abs(s.mean_pair(s.cosine) - np.mean([s.cosine[0, 1], s.cosine[0, 2], s.cosine[1, 2]]))
        < 1e-12
    )
    table = s.table()
    assert [r["query"] for r in table] == ["(0, 1)", "(3, 3)", "(2, 0)"]


def test_rows_that_are_not_distributions_have_no_entropy_or_jsd():
    att = np.random.default_rng(1).normal(size=(4, 4))  # dot-product-like rows
    s = pinned_statistics(att, [(0, 0), (1, 1)], (2, 2), (2, 2))
    assert s.entropy is None and s.jsd is None and s.mean_pair(s.jsd) is None
    assert s.mean_pair(s.cosine) is not None
    empty = pinned_statistics(att, [], (2, 2), (2, 2))
    assert empty.queries == () and empty.mean_pair(empty.cosine) is None and empty.table() == []


def test_pinned_npz_holds_the_maps():
    att = _rows(16, 9)
    s = pinned_statistics(att, [(1, 2), (0, 0)], (4, 4), (3, 3))
    data = np.load(io.BytesIO(pinned_npz(s, (3, 3), layer="nl")))
    assert data["maps"].shape == (2, 3, 3) and data["queries"].tolist() == [[1, 2], [0, 0]]
    np.testing.assert_allclose(data["maps"][0].ravel(), att[6], rtol=1e-6)
    assert str(data["layer"]) == "nl" and data["jsd"].shape == (2, 2)
