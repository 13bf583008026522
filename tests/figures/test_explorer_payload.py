"""The explorer's payloads: quantisation round trip, shapes, downsampling, geometry."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from viz.figures import explorer_payload as P

RNG = np.random.default_rng(3)
IMG = RNG.integers(0, 256, (224, 224, 3), dtype=np.uint8)


def _softmax_rows(n: int, k: int) -> np.ndarray:
    logits = RNG.normal(size=(n, k)) * 3
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _rows(payload: dict, prefix: str = "") -> np.ndarray:
    q = np.frombuffer(base64.b64decode(payload[f"{prefix}rows"]), dtype=np.uint8)
    offset, step = np.array(payload[f"{prefix}offset"]), np.array(payload[f"{prefix}step"])
    return P.dequantise_rows(q.reshape(len(offset), -1), offset, step)


def test_quantise_round_trip_within_a_step_of_each_row():
    rows = np.concatenate([_softmax_rows(50, 196), RNG.normal(size=(5, 196))])  # + signed rows
    q, lo, step = P.quantise_rows(rows)
    assert q.dtype == np.uint8 and q.shape == rows.shape
    back = P.dequantise_rows(q, lo, step)
    span = rows.max(axis=1) - rows.min(axis=1)
    err = np.abs(back - rows).max(axis=1)
    assert np.all(err <= span / 510 + 1e-12)  # half a step
    assert np.all(err[:50] <= rows[:50].max(axis=1) / 255)  # the bound for softmax rows
    assert np.all(q.min(axis=1) == 0) and np.all(q.max(axis=1) == 255)  # full range used


def test_quantise_constant_and_non_finite_rows():
    rows = np.array([[0.5, 0.5, 0.5], [1.0, np.nan, 3.0]])
    q, lo, step = P.quantise_rows(rows)
    assert step[0] == 0 and np.all(P.dequantise_rows(q, lo, step)[0] == 0.5)
    assert q[1, 1] == 0  # NaN read as the row's minimum, not a crash
    with pytest.raises(ValueError):
        P.quantise_rows(np.zeros((0, 4)))


def test_queries_payload_shapes_and_values():
    att = _softmax_rows(14 * 14, 7 * 7)
    p = P.queries_payload(IMG, att, (14, 14), (7, 7), payload_id="x")
    json.dumps(p)  # JSON as sent
    assert p["mode"] == "queries" and p["grid"] == [14, 14] and p["keys"] == [7, 7]
    assert p["qrows"] == list(range(14)) and p["note"] == ""
    np.testing.assert_allclose(_rows(p), att, atol=att.max() / 255)
    assert p["box"] == [0.0, 0.0, 224.0, 224.0] and (p["iw"], p["ih"]) == (224, 224)
    assert len(base64.b64decode(p["lut"])) == 256 * 3
    with pytest.raises(ValueError, match="attention"):
        P.queries_payload(IMG, att[:-1], (14, 14), (7, 7), payload_id="x")


def test_queries_payload_downsamples_above_256_squared():
    h = w = 28  # N x N' = 784^2 = 614656 > 65536
    att = _softmax_rows(h * w, h * w)
    p = P.queries_payload(IMG, att, (h, w), (h, w), payload_id="big")
    gh, gw = p["grid"]
    kh, kw = p["keys"]
    assert gh * gw * kh * kw <= P.MAX_CELLS and "above" in p["note"]
    assert p["full"] == [28, 28] and len(p["qrows"]) == gh and len(p["qcols"]) == gw
    # each sent row is the exact row of the query it names, keys block-averaged
    fk = -(-h // kh)
    sent = _rows(p).reshape(gh, gw, kh, kw)
    r, c = 1, 2
    exact = att[p["qrows"][r] * w + p["qcols"][c]].reshape(h, w)
    expect = P.block_mean(exact, fk)
    np.testing.assert_allclose(sent[r, c], expect, atol=expect.max() / 255)
    # below the bound nothing is coarsened
    assert P.downsample_factors((14, 14), (14, 14)) == (1, 1)


def test_block_mean_handles_ragged_edges():
    a = np.arange(25, dtype=float).reshape(5, 5)
    m = P.block_mean(a, 2)
    assert m.shape == (3, 3)
    assert m[0, 0] == np.mean([0, 1, 5, 6]) and m[2, 2] == 24.0


def test_display_and_view_box_place_the_grid_on_the_whole_picture():
    display = RNG.integers(0, 256, (400, 640, 3), dtype=np.uint8)
    att = _softmax_rows(16, 16)
    p = P.queries_payload(
        IMG, att, (4, 4), (4, 4), payload_id="g", display=display, view_box=(120, 0, 520, 400)
    )
    assert (p["iw"], p["ih"]) == (640, 400) and p["box"] == [120.0, 0.0, 520.0, 400.0]
    jpeg = Image.open(io.BytesIO(base64.b64decode(p["image"].split(",", 1)[1])))
    assert jpeg.size == (640, 400)
    big = RNG.integers(0, 256, (900, 1280, 3), dtype=np.uint8)  # downscaled: the box follows
    p = P.map_payload(
        IMG, RNG.random((7, 7)), payload_id="m", display=big, view_box=(0, 0, 900, 900)
    )
    assert p["iw"] == 640 and p["box"] == [0.0, 0.0, 450.0, 450.0]
    with pytest.raises(ValueError, match="view_box"):
        P.map_payload(IMG, RNG.random((7, 7)), payload_id="m", display=big, view_box=(5, 5, 5, 9))


def test_a2_map_and_channel_payloads():
    g = RNG.random((6, 5, 5))
    g /= g.sum(axis=(1, 2), keepdims=True)
    d = RNG.random((6, 5, 5))
    d /= d.sum(axis=0, keepdims=True)
    p = P.a2_payload(IMG, g, d, payload_id="a")
    assert p["n"] == 6 and p["grid"] == [5, 5]
    np.testing.assert_allclose(_rows(p), d.reshape(6, 25).T, atol=1 / 255)  # per position
    np.testing.assert_allclose(_rows(p, "g"), g.reshape(6, 25), atol=g.max() / 255)

    heat = RNG.random((3, 4))
    m = P.map_payload(IMG, heat, payload_id="m", label="ctx")
    np.testing.assert_allclose(m["values"], heat.ravel(), rtol=1e-5)

    c = P.channels_payload(
        [("a", np.array([0.2, 0.9, 0.5])), ("b", np.array([0.1]))], payload_id="c"
    )
    assert c["grid"] == [2, 3] and c["ranks"] == [[3, 1, 2], [1]]
    with pytest.raises(ValueError):
        P.channels_payload([], payload_id="c")


def test_every_mode_names_what_its_colours_mean():
    """The explorer's colour bar caption: the unit, and for a map its range."""
    img = np.zeros((32, 32, 3), dtype=np.uint8)
    rows = np.full((16, 16), 1 / 16)
    nl = P.queries_payload(img, rows, (4, 4), (4, 4), payload_id="q")
    assert nl["legend"].startswith("attention weight")
    heat = np.linspace(0.1, 0.9, 16).reshape(4, 4)
    m = P.map_payload(img, heat, payload_id="m", unit="gate value (0–1)")
    assert m["legend"] == "gate value (0–1): 0.1 (dark) to 0.9 (bright)"
    ch = P.channels_payload([("b", np.array([0.2, 0.8]))], payload_id="c")
    assert "0 (dark" in ch["legend"] and "1 (bright" in ch["legend"]
    g = np.full((2, 4, 4), 1 / 16)
    a2 = P.a2_payload(img, g, np.full((2, 4, 4), 0.5), payload_id="a")
    assert a2["legend"]
