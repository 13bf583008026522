"""viz.train: the smoke run end to end, the Table-1 helper, the CLI's refusals."""

from __future__ import annotations

import json

import pytest
import torch

from viz.data import fashion_available
from viz.train import Recipe, main, nl_table1
from viz.weights import sha256_of
from viz.zoo import ZooNet, load_zoo


@pytest.mark.skipif(not fashion_available(), reason="dataset-fashion-mnist absent")
def test_smoke_run_writes_a_loadable_checkpoint(tmp_path):
    torch.set_num_threads(1)
    assert main(["--smoke", "--out", str(tmp_path), "--kind", "baseline", "--kind", "gc"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["checkpoints"]["gc"]
    path = tmp_path / "zoo_gc.safetensors"
    assert entry["file"] == path.name and entry["sha256"] == sha256_of(path)
    assert entry["data"]["train_scenes"] == 24 and entry["recipe"]["epochs"] == 1
    assert entry["baseline_mAP"] == manifest["checkpoints"]["baseline"]["mAP"]
    assert 0.0 <= entry["mAP"] <= 1.0
    model = load_zoo("gc", weights_dir=tmp_path)
    fresh = ZooNet("gc")
    # GC's last conv starts at zero; training moved it, and the loaded model carries that
    w = model.state_dict()["attention.transform.3.weight"]
    assert not torch.equal(w, fresh.state_dict()["attention.transform.3.weight"])
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 10)
    # the shipped weights/ were not touched: smoke writes only into --out
    assert (tmp_path / "cache").is_dir()


def test_nl_table1_statistics_shape():
    torch.manual_seed(0)
    models = {k: ZooNet(k) for k in ("nl_embedded_gaussian", "nl_dot_product")}
    stats = nl_table1(models, torch.randn(3, 112, 4, 4))
    for s in stats.values():
        assert s["scenes"] == 3
        assert 0.0 < s["input"] <= 1.0 and 0.0 <= s["att"] <= 1.0
    assert stats["nl_embedded_gaussian"]["jsd"] is not None
    assert stats["nl_dot_product"]["jsd"] is None


def test_cli_refusals(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path)])  # nothing to train
    with pytest.raises(SystemExit):
        main(["--smoke", "--kind", "se"])  # smoke never writes into weights/
    with pytest.raises(ValueError):
        Recipe(bogus=1)
