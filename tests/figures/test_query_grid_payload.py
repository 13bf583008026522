"""viz.figures.query_grid_payload: what the in-browser query grid is sent."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from viz.analysis.forward import grid_queries
from viz.analysis.numpy_stats import cosine_distance_matrix
from viz.figures.explorer_payload import dequantise_rows
from viz.figures.query_grid_payload import query_grid_payload


def _rows(n: int, k: int, seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).random((n, k)) ** 4
    return a / a.sum(axis=1, keepdims=True)


def _grids(att, hw, sizes=(2, 3, 4)):
    out = {}
    for s in sizes:
        q = grid_queries(hw, s)
        out[s] = (q, cosine_distance_matrix(np.stack([att[r * hw[1] + c] for r, c in q])))
    return out


def test_every_grid_carries_exact_distances_and_its_rows():
    hw = (7, 9)
    att = _rows(63, 63)
    p = query_grid_payload(np.zeros((70, 90, 3), np.uint8), att, hw, hw, _grids(att, hw),
                           payload_id="x", label="m · layer")  # fmt: skip
    assert p["mode"] == "query_grid" and p["sizes"] == [2, 3, 4] and p["k"] == 4
    q = base64.b64decode(p["rows"])
    rows = np.frombuffer(q, np.uint8).reshape(len(p["offset"]), 63)
    back = dequantise_rows(rows, np.array(p["offset"]), np.array(p["step"]))
    for size in (2, 3, 4):
        g = p["grids"][str(size)]
        assert [tuple(x) for x in g["queries"]] == grid_queries(hw, size)
        sent = np.array(g["distance"]).reshape(len(g["queries"]), -1)
        ref = cosine_distance_matrix(np.stack([att[r * 9 + c] for r, c in g["queries"]]))
        np.testing.assert_allclose(sent, np.maximum(ref, 0), rtol=1e-5, atol=1e-9)
        assert g["mean"] == pytest.approx(ref[~np.eye(len(ref), dtype=bool)].mean(), rel=1e-5)
        for i, (r, c) in zip(g["rows"], g["queries"]):  # the drawn rows are the queries' rows
            step = (att[r * 9 + c].max() - att[r * 9 + c].min()) / 255
            np.testing.assert_allclose(back[i], att[r * 9 + c], atol=step / 2 + 1e-12)
    # rows shared between grids are sent once
    cells = {tuple(x) for s in (2, 3, 4) for x in p["grids"][str(s)]["queries"]}
    assert len(p["offset"]) == len(cells)


def test_identical_rows_read_zero_never_negative():
    hw = (4, 4)
    att = np.full((16, 16), 1 / 16)
    p = query_grid_payload(np.zeros((8, 8, 3), np.uint8), att, hw, hw, _grids(att, hw, (2,)),
                           payload_id="u")  # fmt: skip
    assert min(p["grids"]["2"]["distance"]) == 0.0 and p["grids"]["2"]["mean"] == 0.0


def test_fine_key_grids_are_averaged_for_drawing_and_bad_input_raises():
    hw, keys = (4, 4), (80, 80)
    att = _rows(16, 6400)
    grids = {2: (grid_queries(hw, 2), np.zeros((4, 4)))}
    p = query_grid_payload(np.zeros((8, 8, 3), np.uint8), att, hw, keys, grids, payload_id="f")
    assert p["keys"][0] * p["keys"][1] <= 64 * 64 and "averaged" in p["note"]
    with pytest.raises(ValueError, match="attention"):
        query_grid_payload(np.zeros((8, 8, 3), np.uint8), att[:3], hw, keys, grids, payload_id="")
    with pytest.raises(ValueError, match="distance"):
        query_grid_payload(np.zeros((8, 8, 3), np.uint8), att, hw, keys,
                           {2: (grid_queries(hw, 2), np.zeros((3, 3)))}, payload_id="")  # fmt: skip
    with pytest.raises(ValueError, match="cells"):
        query_grid_payload(np.zeros((8, 8, 3), np.uint8), att, hw, keys,
                           {2: ([(9, 9)], np.zeros((1, 1)))}, payload_id="")  # fmt: skip
