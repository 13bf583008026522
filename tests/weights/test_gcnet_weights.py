"""The shipped GCNet-recipe family (weights/gcnet): every file the manifest names is there with its
sha256, every cell carries its per-epoch statistics, and the whole of weights/ stays small."""

from __future__ import annotations

import json

import pytest

from viz.analysis.query_reading import OUTCOMES, reading_of_stats
from viz.weights.checkpoints import sha256_of
from viz.weights.registry import backbone_info, list_backbones
from viz.weights.sources.gcnet import GCNET_DIR, backbone_name, epoch_name
from viz.weights.sources.zoo import WEIGHTS_DIR

MANIFEST = GCNET_DIR / "manifest.json"
pytestmark = pytest.mark.skipif(not MANIFEST.exists(), reason="weights/gcnet not trained here")


def test_every_named_file_matches_and_weights_stay_small():
    manifest = json.loads(MANIFEST.read_text())
    for key, entry in manifest["checkpoints"].items():
        assert sha256_of(GCNET_DIR / entry["file"]) == entry["sha256"], key
        for snap in entry.get("epochs", []):
            assert sha256_of(GCNET_DIR / snap["file"]) == snap["sha256"], snap["file"]
        name = backbone_name(key)
        if name is not None:
            spec = backbone_info(name)
            assert spec.group == "zoo" and spec.meta["kinds"] == [entry["kind"]]
            for snap in entry.get("epochs", []):
                assert epoch_name(name, snap["epoch"]) in list_backbones("epochs")
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.rglob("*") if p.is_file())
    assert total <= 60 * 2**20


def test_cells_record_every_epoch_and_read_with_three_outcomes():
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["cells"] and "skipped" in manifest["design"]
    for name, cell in manifest["cells"].items():
        assert [row["epoch"] for row in cell["curve"]] == list(range(cell["epochs"] + 1)), name
        for row in cell["curve"]:
            t = row["table1"]
            assert t["scenes"] >= 500 and 1.0 <= t["peak"] and 0.0 <= t["entropy"] <= 1.0
            assert 0.0 <= t["att"] <= 1.0 and "unary_share" in t
            assert reading_of_stats(t).outcome in OUTCOMES
        assert cell["final"]["photos_table1"]["scenes"] >= 10  # the real photos
        assert len(cell["train_curve"]) == cell["epochs"]
