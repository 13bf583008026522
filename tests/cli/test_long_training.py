"""viz.cli.long_training: the GCNet-recipe family and the ablation, end to end on tiny scenes."""

from __future__ import annotations

import json

import pytest
import torch
from scene_fixtures import write_scene_table

from viz.cli.long_training import (
    ABLATION_DESIGN,
    BatchStream,
    Cell,
    ablation_cells,
    cell_recipe,
    claim,
    family_cells,
    planned_cells,
    warmup_cosine,
)
from viz.cli.train import main
from viz.models.zoo import GCNET_RECIPE, SHIPPED_RECIPE, BlockRecipe, ZooNet
from viz.weights.checkpoints import load_checkpoint, sha256_of


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("gcnet")
    write_scene_table(root / "data")
    out = root / "out"
    args = ["--gcnet", "--smoke", "--workers", "1", "--out", str(out)]
    assert main([*args, "--scene-table", str(root / "data" / "table.json")]) == 0
    return json.loads((out / "manifest.json").read_text()), out


def test_smoke_writes_cells_checkpoints_and_epoch_snapshots(smoke):
    manifest, out = smoke
    cells = manifest["cells"]
    assert len(cells) == 4
    for record in cells.values():
        assert [row["epoch"] for row in record["curve"]] == [0, 1]
        t1 = record["final"]["table1"]
        for key in ("input", "output", "att", "entropy", "peak", "unary_share"):
            assert key in t1
        assert record["curve"][0]["table1"]["output"] is None  # a new block adds exactly zero
    eg = manifest["checkpoints"]["gcnet_nl_embedded_gaussian"]
    assert eg["input"] == "residual" and eg["init"] == "mmcv" and eg["scale"] == "sqrt"
    assert [e["epoch"] for e in eg["epochs"]] == [0, 1]
    for e in eg["epochs"]:
        assert sha256_of(out / e["file"]) == e["sha256"]
    assert sha256_of(out / eg["file"]) == eg["sha256"]
    shipped = manifest["checkpoints"]["shipped_nl_embedded_gaussian"]
    assert shipped["input"] == "signed" and len(shipped["epochs"]) == 2
    # the snapshots differ: epoch 1 is trained
    first, last = (load_checkpoint(out / e["file"]) for e in eg["epochs"])
    assert any(not torch.equal(first[k], last[k]) for k in first)
    model = ZooNet("nl_embedded_gaussian", num_classes=3, recipe=GCNET_RECIPE)
    model.load_state_dict(last, strict=False)  # same keys and shapes
    assert set(last) == set(model.trained_state_dict())


def test_rerun_resumes_nothing_to_do(smoke, tmp_path):
    manifest, out = smoke
    cell = family_cells(seeds=(0,))[1]
    assert not claim(cell, out, tmp_path)  # done: its record exists


def test_mmcv_init_and_scale():
    torch.manual_seed(0)
    m = ZooNet("nl_embedded_gaussian", recipe=GCNET_RECIPE)
    block = m.attention
    assert abs(float(block.theta.weight.std()) - 0.01) < 0.002
    assert float(block.theta.bias.abs().max()) == 0.0
    assert float(block.bn.weight.abs().max()) == 0.0
    assert block.scale == pytest.approx(block.inter_channels**-0.5)
    default = ZooNet("nl_embedded_gaussian", recipe=SHIPPED_RECIPE).attention
    assert float(default.theta.weight.std()) > 0.03 and default.scale == 1.0
    # the residual stage's output is non-negative (ReLU after the sum)
    x = torch.randn(2, 432, 6, 6)
    assert float(m.adapt(x).min()) >= 0.0
    relu = ZooNet("nl_dot_product", recipe=BlockRecipe("relu"))
    assert float(relu.adapt(x).min()) >= 0.0
    with pytest.raises(ValueError):
        BlockRecipe(input="sparse")


def test_design_covers_the_factors_once():
    cells = ablation_cells()
    names = [c.name for c in cells]
    assert len(names) == len(set(names))
    eg_short = [c for c in cells if c.kind == "nl_embedded_gaussian" and c.schedule == "short"]
    assert len(eg_short) == 2 * 2 * 3 * 2 * 2  # init x scale x input x optimiser x seeds
    dot = [c for c in cells if c.kind == "nl_dot_product"]
    assert {c.recipe.scale for c in dot} == {"none"}
    assert "skipped" in ABLATION_DESIGN
    assert cell_recipe("nl_gaussian", GCNET_RECIPE).scale == "none"
    planned = [c.name for c in planned_cells()]
    assert len(planned) == len(set(planned))
    assert planned[0] == Cell("nl_embedded_gaussian", GCNET_RECIPE).name


def test_batch_stream_is_a_function_of_the_step():
    a, b = BatchStream(10, 4, 0, True), BatchStream(10, 4, 0, True)
    seen = torch.cat([a(s)[0] for s in range(5)])  # two passes
    assert sorted(seen[:10].tolist()) == list(range(10))
    assert torch.equal(a(3)[0], b(3)[0]) and torch.equal(a(3)[1], b(3)[1])
    assert not BatchStream(10, 4, 0, False)(1)[1].any()


def test_warmup_cosine():
    assert warmup_cosine(0, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(100, 100, 0.1) == pytest.approx(0.0)


def test_the_family_is_registered_and_loads_with_its_epochs(smoke, monkeypatch):
    from PIL import Image

    from viz.analysis.forward import analyse
    from viz.weights.sources import gcnet

    manifest, out = smoke
    monkeypatch.setattr(gcnet, "GCNET_DIR", out)
    specs = {s.name: s for s in gcnet.specs()}
    assert {"gcnet-recipe/nl_embedded_gaussian", "shipped-recipe/nl_embedded_gaussian"} <= set(
        specs
    )
    assert specs["gcnet-recipe/nl_embedded_gaussian@epoch01"].group == "epochs"
    assert specs["gcnet-recipe/nl_embedded_gaussian"].group == "zoo"
    image = Image.new("RGB", (96, 80), (120, 60, 30))
    bb = specs["gcnet-recipe/nl_embedded_gaussian@epoch00"].build(torch.device("cpu"))
    an = analyse(bb, image, "h")
    (rec,) = an.records.values()
    assert rec.tensors["input"].shape[0] == 256 and rec.tensors["input"].min() >= 0
    assert rec.tensors["attention"].shape == (196, 196)
    # a changed file is refused (sha256 in the manifest)
    snap = out / manifest["checkpoints"]["gcnet_nl_embedded_gaussian"]["epochs"][1]["file"]
    snap.write_bytes(snap.read_bytes()[:-4] + b"\0\0\0\0")
    from viz.weights.spec import WeightsUnavailable

    with pytest.raises(WeightsUnavailable, match="sha256"):
        specs["gcnet-recipe/nl_embedded_gaussian@epoch01"].build(torch.device("cpu"))
