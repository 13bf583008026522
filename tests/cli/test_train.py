"""python -m viz train: smoke runs end to end (self-written scenes and, when installed, the real packages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from scene_fixtures import write_scene_table

from viz.cli.recipe import Recipe, Run, plan_runs
from viz.cli.train import main
from viz.data.scenes import SCENE_CLASSES
from viz.models.zoo import ZooNet
from viz.weights.checkpoints import sha256_of
from viz.weights.sources.zoo import load_zoo

REAL = Path("/usr/share/tuxpaint/stamps").is_dir()


def _smoke(tmp_path, *extra) -> dict:
    torch.set_num_threads(1)
    table = write_scene_table(tmp_path / "data")
    out = tmp_path / "out"
    args = ["--smoke", "--out", str(out), "--scene-table", str(tmp_path / "data" / "table.json")]
    assert main([*args, *extra]) == 0
    return json.loads((out / "manifest.json").read_text()), out, table


def test_smoke_run_writes_loadable_checkpoints_with_their_history(tmp_path):
    manifest, out, table = _smoke(
        tmp_path, "--kind", "baseline", "--kind", "gc", "--kind", "nl_dot_product"
    )
    assert manifest["classes"] == table["classes"]
    assert set(manifest["checkpoints"]) == {
        "baseline",
        "gc",
        "nl_dot_product",
        "nl_dot_product@seed1",
        "nl_dot_product@pool",
    }
    assert manifest["progress"]["epochs_completed"] == 1
    for entry in manifest["checkpoints"].values():
        path = out / entry["file"]
        assert entry["sha256"] == sha256_of(path)
        assert entry["baseline_mAP"] == manifest["checkpoints"]["baseline"]["mAP"]
        assert len(entry["curves"]["heldout_loss"]) == 1 and len(entry["curves"]["train_loss"]) == 1
    nl = manifest["checkpoints"]["nl_dot_product"]
    assert [row["epoch"] for row in nl["table1_curve"]] == [0, 1]
    assert nl["table1_init"]["output"] is None  # a new block adds exactly zero
    for key in ("input", "att", "entropy", "unary_share", "unary_distance"):
        assert key in nl["table1"]
    assert set(manifest["nl_regimes"]["nl_dot_product"]) >= {"fresh", "pool"}
    assert manifest["nl_seeds"]["nl_dot_product"]["runs"] == [
        "nl_dot_product",
        "nl_dot_product@seed1",
    ]
    # the checkpoint carries trained tensors (GC's last conv starts at zero)
    fresh = ZooNet("gc").state_dict()["attention.transform.3.weight"]
    from viz.weights.checkpoints import load_checkpoint

    state = load_checkpoint(out / "zoo_gc.safetensors")
    assert not torch.equal(state["attention.transform.3.weight"], fresh)
    assert all(k.startswith(("adapt.", "attention.", "head.")) for k in state)


def test_runs_plan_seeds_and_regimes():
    runs = plan_runs(["baseline", "nl_gaussian"], Recipe())
    assert [r.name for r in runs] == [
        "baseline",
        "nl_gaussian",
        "nl_gaussian@seed1",
        "nl_gaussian@pool",
    ]
    assert Run("nl_gaussian", 1).file == "zoo_nl_gaussian-seed1.safetensors"
    assert [r.name for r in plan_runs(["se"], Recipe(), variants=False)] == ["se"]


def test_missing_packages_exit_2_with_the_package_names(tmp_path, capsys):
    table = write_scene_table(tmp_path)
    table["stamps_root"] = str(tmp_path / "gone")
    (tmp_path / "bad.json").write_text(json.dumps(table))
    code = main(
        ["--smoke", "--out", str(tmp_path / "o"), "--scene-table", str(tmp_path / "bad.json")]
    )
    assert code == 2
    assert "tuxpaint-stamps-default" in capsys.readouterr().err


def test_cli_refusals(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path)])  # nothing to train
    with pytest.raises(SystemExit):
        main(["--smoke", "--kind", "se"])  # smoke never writes into weights/


@pytest.mark.skipif(not REAL, reason="Debian tuxpaint-stamps-default and wallpapers absent")
def test_smoke_on_the_real_packages(tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "real"
    assert (
        main(["--smoke", "--out", str(out), "--kind", "nl_embedded_gaussian", "--no-variants"]) == 0
    )
    model = load_zoo("nl_embedded_gaussian", weights_dir=out)
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape[1] == len(SCENE_CLASSES) == 12


def test_a_partial_remake_keeps_the_other_entries(tmp_path):
    manifest, out, _ = _smoke(tmp_path, "--kind", "baseline", "--no-variants")
    args = ["--smoke", "--out", str(out), "--scene-table", str(tmp_path / "data" / "table.json")]
    assert main([*args, "--kind", "se", "--no-variants"]) == 0
    again = json.loads((out / "manifest.json").read_text())
    assert set(again["checkpoints"]) == {"baseline", "se"}
    assert (
        again["checkpoints"]["baseline"]["sha256"] == manifest["checkpoints"]["baseline"]["sha256"]
    )
