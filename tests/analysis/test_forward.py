"""viz.analysis.forward: one forward pass -> numpy Analysis; helpers; exports. Uses a tiny random-weight
backbone registered for tests only (never shown as trained)."""

from __future__ import annotations

import io
import json
import pickle

import numpy as np
import pytest
from tiny_backbone import (  # noqa: F401
    TINY_CLASSES,
    TINY_KINDS,
    TINY_META,
    TINY_NAME,
    TINY_SIZE,
    _build,
    register_tiny,
    tiny_image,
)

from viz.analysis import forward


@pytest.fixture(scope="module")
def analysis():
    return forward.analyse(_build("cpu"), tiny_image(), "hash0")


def test_analysis_holds_numpy_records_without_batch_dim(analysis):
    assert analysis.image.shape == (TINY_SIZE, TINY_SIZE, 3) and analysis.image.dtype == np.uint8
    assert analysis.input_shape == (1, 3, TINY_SIZE, TINY_SIZE)
    assert set(analysis.kinds) == set(TINY_KINDS)
    se = forward.records_of_kind(analysis, "se")
    (rec,) = se.values()
    assert rec.tensors["channel"].shape == (16,) and rec.tensors["channel"].dtype == np.float32
    nl = analysis.records[forward.nl_layers(analysis)[0]]
    assert nl.tensors["attention"].shape == (64, 64)
    assert nl.tensors["input"].shape == (16, 8, 8)
    a2 = forward.records_of_kind(analysis, "a2")
    assert next(iter(a2.values())).tensors["gather"].shape == (4, 8, 8)
    # everything is numpy: the whole analysis pickles without torch objects
    blob = pickle.dumps(analysis)
    assert b"torch" not in blob
    assert analysis.image_hash == "hash0" and analysis.forward_ms > 0


def test_prediction_and_multilabel_probabilities(analysis):
    assert len(analysis.prediction) == 5
    probs = analysis.probabilities
    assert probs.shape == (10,)
    # sigmoid per label: independent, so they need not sum to 1, and the top-5 match them
    top_label, top_p = analysis.prediction[0]
    assert top_label == TINY_CLASSES[int(probs.argmax())]
    assert top_p == pytest.approx(float(probs.max()), abs=1e-6)


def test_nl_layers_and_statistics_match_viz_stats(analysis):
    from viz.analysis.table1 import query_independence

    layers = forward.nl_layers(analysis)
    assert [analysis.records[p].kind for p in layers] == [
        "nl_gaussian",
        "nl_embedded_gaussian",
        "nl_dot_product",
        "nl_concatenation",
    ]
    rec = analysis.records[layers[1]]
    stats = forward.nl_statistics(rec)
    x, z = rec.tensors["input"], rec.tensors["output"]
    ref = query_independence(x.reshape(16, -1).T, z.reshape(16, -1).T, rec.tensors["attention"])
    assert stats["cos_att"] == pytest.approx(ref["cos_att"])
    assert stats["jsd_att"] is not None and stats["N"] == 64 and stats["N_keys"] == 64
    dot = forward.nl_statistics(analysis.records[layers[2]])
    assert dot["jsd_att"] is None  # dot-product rows are not distributions


def test_nl_statistics_memo_is_keyed_by_backbone_image_and_layer(analysis):
    layers = forward.nl_layers(analysis)
    rec, other = analysis.records[layers[1]], analysis.records[layers[2]]
    key = (analysis.backbone, "hash-a", layers[1])
    first = forward.nl_statistics(rec, key=key)
    first["cos_att"] = -1.0  # a caller's edit must not reach the memo
    again = forward.nl_statistics(rec, key=key)
    assert again == forward.nl_statistics(rec) and again["cos_att"] != -1.0
    # another layer under another key is computed, not served from the first entry
    assert (
        forward.nl_statistics(other, key=(analysis.backbone, "hash-a", layers[2]))["jsd_att"]
        is None
    )
    # no image hash: never memoised (the key would not identify the pixels)
    forward.nl_statistics(rec, key=(analysis.backbone, "", layers[1]))
    assert (analysis.backbone, "", layers[1]) not in forward._STATS_MEMO
    for i in range(forward._STATS_MEMO_SIZE + 5):
        forward.nl_statistics(rec, key=(analysis.backbone, f"h{i}", layers[1]))
    assert len(forward._STATS_MEMO) == forward._STATS_MEMO_SIZE


def test_grid_queries_spread_and_bounded():
    q = forward.grid_queries((12, 12), 4)
    assert q == [(r, c) for r in (1, 4, 7, 10) for c in (1, 4, 7, 10)]
    assert forward.grid_queries((2, 3), 4) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    with pytest.raises(ValueError):
        forward.grid_queries((4, 4), 0)


def test_export_npz_round_trip(analysis):
    data = forward.export_npz(analysis)
    with np.load(io.BytesIO(data)) as npz:
        path = forward.nl_layers(analysis)[0]
        assert np.array_equal(npz[f"{path}/attention"], analysis.records[path].tensors["attention"])
        assert np.array_equal(npz["image"], analysis.image)
        meta = json.loads(str(npz["meta"]))
    assert meta["backbone"] == TINY_NAME and meta["kinds"][path] == "nl_gaussian"


def test_stats_csv_from_rows_and_frame():
    import pandas as pd

    rows = [{"form": "gaussian", "att": 0.5}, {"form": "dot_product", "att": 0.25}]
    text = forward.stats_csv(rows)
    assert text.splitlines() == ["form,att", "gaussian,0.5", "dot_product,0.25"]
    assert forward.stats_csv(pd.DataFrame(rows)) == text


def test_analyse_does_not_leak_between_threads():
    """Two threads analysing different images on one model get their own records."""
    import threading

    bb = _build("cpu")
    out = {}

    def run(seed):
        out[seed] = forward.analyse(bb, tiny_image(seed), str(seed))

    threads = [threading.Thread(target=run, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    solo = forward.analyse(bb, tiny_image(1), "1")
    path = forward.nl_layers(solo)[1]
    assert np.allclose(
        out[1].records[path].tensors["attention"], solo.records[path].tensors["attention"]
    )
    assert not np.allclose(
        out[1].records[path].tensors["attention"], out[2].records[path].tensors["attention"]
    )


def test_zoo_model_for_finds_a_zoo_model():
    name = forward.zoo_model_for("a2")
    assert name == "zoo/a2"
    assert forward.zoo_model_for("not_a_kind") is None
