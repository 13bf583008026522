"""The Python side of the cases the explorer's JavaScript is tested on (``cases.json``, read by
``logic.test.mjs`` too): the pin log, the packed rows and the downsampled grids agree in both."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from viz.figures.explorer_payload import dequantise_rows, queries_payload, rows_fields
from viz.ui.explorer import apply_pin_log

CASES = json.loads((Path(__file__).with_name("cases.json")).read_text())


def _ids(cases):
    return [c["name"][:60] for c in cases]


@pytest.mark.parametrize("case", CASES["pin_log"], ids=_ids(CASES["pin_log"]))
def test_pin_log(case):
    log = {"id": "L", "entries": case["entries"]}
    pins, mark = apply_pin_log(
        log, None, case["token"], case["pins"], case["max_pins"], tuple(case["grid"])
    )
    assert [list(p) for p in pins] == case["expect"]
    assert mark == ("L", len(case["entries"]))


def test_the_cases_hold_out_of_grid_pins():
    """The browser and Python must both drop them: the cases have to exercise it."""
    outside = [
        e
        for c in CASES["pin_log"]
        for e in c["entries"]
        if e[0] == "pin" and not (0 <= e[1] < c["grid"][0] and 0 <= e[2] < c["grid"][1])
    ]
    assert len(outside) >= 4


@pytest.mark.parametrize("case", CASES["rows"], ids=_ids(CASES["rows"]))
def test_rows_packed_as_python_sends_them(case):
    rows = np.array([[np.nan if v is None else v for v in r] for r in case["rows"]], dtype=float)
    packed = rows_fields(rows)
    assert packed == case["packed"], (
        "the packing changed: tests/js/cases.json's `packed` (and `back`) must follow it, "
        f"now {json.dumps(packed)}"
    )
    q = np.frombuffer(base64.b64decode(packed["rows"]), dtype=np.uint8).reshape(rows.shape)
    offset, step = np.array(packed["offset"]), np.array(packed["step"])
    back = dequantise_rows(q, offset, step)
    np.testing.assert_allclose(back, np.array(case["back"]), rtol=0, atol=1e-12)
    finite = np.isfinite(rows)
    err = np.abs(back - np.where(finite, rows, offset[:, None]))
    assert np.all(err <= step[:, None] / 2 + 1e-6 * np.maximum(1, np.abs(np.nan_to_num(rows))))


@pytest.mark.parametrize("case", CASES["downsampled"], ids=_ids(CASES["downsampled"]))
def test_downsampled_grids(case):
    (h, w), (kh, kw) = case["grid_hw"], case["keys_hw"]
    p = queries_payload(
        np.zeros((32, 32, 3), np.uint8),
        np.full((h * w, kh * kw), 1.0 / (kh * kw)),
        (h, w),
        (kh, kw),
        payload_id="c",
        max_cells=case["max_cells"],
    )
    for key in ("grid", "full", "qrows", "qcols", "keys"):
        assert p[key] == case[key], key
    for (r, c), original in case["cells"]:
        assert [p["qrows"][r], p["qcols"][c]] == original
    # a pin is drawn on the sent cell nearest to it, the first on ties (np.argmin's rule)
    qrows, qcols = np.array(p["qrows"]), np.array(p["qcols"])
    for (r, c), cell in case["pins"]:
        assert [int(np.argmin(np.abs(qrows - r))), int(np.argmin(np.abs(qcols - c)))] == cell
