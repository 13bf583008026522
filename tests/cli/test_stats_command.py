"""viz.analysis.folder / ``python -m viz stats``: Table-1 statistics over a folder, on tiny test backbones."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from viz.analysis.folder import COLUMNS, batch_statistics, find_images, summarise
from viz.attention import create_attention
from viz.cli.stats_command import main
from viz.weights import registry as backbones
from viz.weights.registry import register
from viz.weights.spec import Backbone, BackboneSpec

ROOT = Path(__file__).resolve().parents[2]


def _model(kinds: tuple[str, ...]) -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Conv2d(3, 8, 3, stride=4, padding=1), nn.ReLU()]
    for kind in kinds:
        block = create_attention(kind, 8)
        if hasattr(block, "bn"):
            nn.init.ones_(block.bn.weight)  # a non-zero output z - x
        layers.append(block)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3)).eval()


def _spec(name: str, kinds: tuple[str, ...], size: int | None) -> BackboneSpec:
    def build(device):
        def prepare(image):
            return image.convert("RGB").resize((size, size)) if size else image.convert("RGB")

        def preprocess(image):
            arr = np.asarray(prepare(image), dtype=np.float32) / 255.0
            return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous()

        return Backbone(name, _model(kinds), preprocess, {"kinds": list(kinds)}, device, prepare)

    return BackboneSpec(name, "test", name, build, {"kinds": list(kinds)})


@pytest.fixture(scope="module", autouse=True)
def tiny_backbones():
    specs = [
        _spec("test/nl2", ("nl_embedded_gaussian", "nl_dot_product"), 32),
        _spec("test/nl_anysize", ("nl_gaussian",), None),
        _spec("test/se_only", ("se",), 32),
    ]
    backbones.list_backbones()  # populate the real registry first, so ours are not overwritten
    for s in specs:
        register(s)
    yield
    for s in specs:
        backbones._REGISTRY.pop(s.name, None)


def _png(path: Path, seed: int, size=(40, 36)) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "imgs"
    _png(d / "a.png", 1)
    _png(d / "b.PNG", 2, size=(48, 40))
    _png(d / "sub" / "c.png", 3, size=(40, 36))
    Image.open(d / "a.png").convert("RGB").save(d / "sub" / "d.jpg")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (d / "notes.txt").write_text("not an image")
    return d


def _read(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_find_images_is_recursive_and_filters_by_suffix(folder: Path):
    names = [p.relative_to(folder).as_posix() for p in find_images(folder)]
    assert names == ["a.png", "b.PNG", "broken.png", "sub/c.png", "sub/d.jpg"]


def test_command_writes_per_image_and_summary(folder: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    code = main(
        [str(folder), "--backbone", "test/nl2", "--out", str(out), "--workers", "0"]
        + ["--batch-size", "3", "--no-progress"]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "broken.png" in captured.err  # reported, then skipped
    rows = _read(out / "per_image.csv")
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 4 * 2  # 4 readable images x 2 NL blocks
    assert {r["image"] for r in rows} == {"a.png", "b.PNG", "sub/c.png", "sub/d.jpg"}
    assert {(r["layer"], r["kind"]) for r in rows} == {
        ("2", "nl_embedded_gaussian"),
        ("3", "nl_dot_product"),
    }
    assert all(r["N"] == "64" for r in rows)  # 32 px / stride 4 = 8 x 8
    for r in rows:
        for stat in ("cos_input", "cos_output", "cos_att"):
            assert 0.0 <= float(r[stat]) <= 1.0
        # JSD only where rows are distributions (softmax forms)
        assert (r["jsd_att"] != "") == (r["kind"] == "nl_embedded_gaussian")

    # every row equals the statistics of that image alone (batching mixes nothing up)
    bb = backbones.load_backbone("test/nl2", "cpu")
    alone = batch_statistics(bb, bb.preprocess(Image.open(folder / "b.PNG").convert("RGB")))[0]
    for expected in alone:
        row = next(r for r in rows if r["image"] == "b.PNG" and r["layer"] == expected["layer"])
        for stat in ("cos_input", "cos_output", "cos_att"):
            assert float(row[stat]) == pytest.approx(expected[stat], rel=1e-5)

    summary = _read(out / "summary.csv")
    assert [s["layer"] for s in summary] == ["2", "3"]
    eg = [r for r in rows if r["layer"] == "2"]
    values = np.array([float(r["cos_att"]) for r in eg])
    assert float(summary[0]["cos_att_mean"]) == pytest.approx(values.mean())
    assert float(summary[0]["cos_att_std"]) == pytest.approx(values.std())
    assert summary[0]["images"] == "4"
    assert summary[1]["jsd_att_mean"] == ""  # dot product: no JSD
    md = (out / "summary.md").read_text()
    assert "| 2 | nl_embedded_gaussian | 64 | 4 |" in md
    assert md.strip() in captured.out  # the summary is printed


def test_images_of_different_sizes_with_a_worker(folder: Path, tmp_path: Path, capsys):
    out = tmp_path / "out2"
    code = main(
        [str(folder), "--backbone", "test/nl_anysize", "--out", str(out)]
        + ["--workers", "1", "--batch-size", "4", "--no-progress"]
    )
    assert code == 0, capsys.readouterr().err
    rows = _read(out / "per_image.csv")
    n_of = {r["image"]: int(r["N"]) for r in rows}
    assert n_of == {"a.png": 90, "b.PNG": 120, "sub/c.png": 90, "sub/d.jpg": 90}
    summary = _read(out / "summary.csv")
    assert summary[0]["N"] == "90-120"


def test_summarise_skips_missing_jsd():
    rows = [
        {"layer": "x", "kind": "nl_dot_product", "N": 4, "cos_input": 0.2, "cos_output": 0.1}
        | {"cos_att": 0.3, "jsd_att": None},
        {"layer": "x", "kind": "nl_dot_product", "N": 4, "cos_input": 0.4, "cos_output": 0.3}
        | {"cos_att": 0.5, "jsd_att": None},
    ]
    (s,) = summarise(rows)
    assert s["cos_input_mean"] == pytest.approx(0.3)
    assert s["cos_input_std"] == pytest.approx(0.1)
    assert s["jsd_att_mean"] is None and s["images"] == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--backbone", "test/does_not_exist"], "unknown backbone"),
        (["--backbone", "test/se_only"], "no Non-local block"),
    ],
)
def test_bad_backbone_exit_codes(folder: Path, tmp_path: Path, capsys, args, message):
    code = main([str(folder), *args, "--out", str(tmp_path / "o"), "--workers", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_empty_missing_and_unreadable_folders(tmp_path: Path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    assert main([str(empty), "--backbone", "test/nl2", "--workers", "0"]) == 2
    assert "no images" in capsys.readouterr().err
    assert main([str(tmp_path / "nope"), "--backbone", "test/nl2"]) == 2
    assert "not a folder" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.jpg").write_bytes(b"garbage")
    code = main([str(bad), "--backbone", "test/nl2", "--workers", "0", "--no-progress"])
    assert code == 1
    assert "could be read" in capsys.readouterr().err


def test_module_command_help():
    help_run = subprocess.run(
        [sys.executable, "-m", "viz", "stats", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert help_run.returncode == 0
    assert "IMAGE_DIR" in help_run.stdout and "--backbone" in help_run.stdout


def test_command_says_which_jsd_method_it_used(folder: Path, tmp_path: Path, capsys):
    base = [str(folder), "--backbone", "test/nl2", "--workers", "0", "--no-progress"]
    # default on 8 x 8 maps: exact, and said so
    assert main([*base, "--out", str(tmp_path / "auto")]) == 0
    captured = capsys.readouterr()
    assert "JSD: exact when" in captured.err and "--exact forces exact" in captured.err
    auto = [r for r in _read(tmp_path / "auto" / "per_image.csv") if r["jsd_att"]]
    assert auto and all(r["jsd_att_method"] == "exact" for r in auto)
    assert all(r["jsd_att_lo"] == r["jsd_att"] == r["jsd_att_hi"] for r in auto)
    assert "| exact |" in captured.out
    # --sampled: the estimate, its interval per image, and the layer mean's interval
    assert main([*base, "--sampled", "--sample-pairs", "3000", "--out", str(tmp_path / "s")]) == 0
    captured = capsys.readouterr()
    assert "JSD: sampled, 3000 pairs" in captured.err
    sampled = [r for r in _read(tmp_path / "s" / "per_image.csv") if r["jsd_att"]]
    exact_of = {r["image"]: float(r["jsd_att"]) for r in auto}
    for r in sampled:
        assert r["jsd_att_method"] == "sampled"
        lo, hi = float(r["jsd_att_lo"]), float(r["jsd_att_hi"])
        assert lo < float(r["jsd_att"]) < hi
        assert lo <= exact_of[r["image"]] <= hi
    (layer,) = [s for s in _read(tmp_path / "s" / "summary.csv") if s["jsd_att_mean"]]
    assert layer["jsd_att_method"] == "sampled"
    assert (
        float(layer["jsd_att_ci_lo"]) < float(layer["jsd_att_mean"]) < float(layer["jsd_att_ci_hi"])
    )
    assert "sampled, 95 % CI [" in captured.out and "JSD method: sampled" in captured.out
    # --exact gives the exact values whatever the size
    assert main([*base, "--exact", "--out", str(tmp_path / "e")]) == 0
    assert "JSD: exact over every pair" in capsys.readouterr().err
    forced = [r for r in _read(tmp_path / "e" / "per_image.csv") if r["jsd_att"]]
    assert {r["image"]: float(r["jsd_att"]) for r in forced} == exact_of
    assert all(r["jsd_att_method"] == "exact" for r in forced)
    with pytest.raises(SystemExit):  # one method at a time
        main([*base, "--exact", "--sampled"])
    assert main([*base, "--sample-pairs", "1"]) == 2


def test_batch_statistics_pass_the_method_through():
    bb = backbones.load_backbone("test/nl2", "cpu")
    x = bb.preprocess(Image.new("RGB", (32, 32), (200, 40, 90)))
    rng = np.random.default_rng(0)
    x = x + torch.as_tensor(rng.normal(size=x.shape), dtype=x.dtype)
    (exact,) = batch_statistics(bb, x, exact=True)
    (sampled,) = batch_statistics(bb, x, exact=False, sample_pairs=500)
    eg_exact = next(r for r in exact if r["kind"] == "nl_embedded_gaussian")
    eg_sampled = next(r for r in sampled if r["kind"] == "nl_embedded_gaussian")
    assert eg_exact["jsd_att_method"] == "exact" and eg_exact["jsd_att_pairs"] == 64 * 64
    assert eg_sampled["jsd_att_method"] == "sampled" and eg_sampled["jsd_att_pairs"] == 500
    assert eg_sampled["jsd_att_lo"] <= eg_exact["jsd_att"] <= eg_sampled["jsd_att_hi"]
    dot = next(r for r in sampled if r["kind"] == "nl_dot_product")
    assert dot["jsd_att"] is None and dot["jsd_att_method"] is None and dot["jsd_att_lo"] is None


def test_summary_interval_of_the_mean_from_per_image_errors():
    rows = [
        {"layer": "x", "kind": "nl_gaussian", "N": 4096, "cos_input": 0.2, "cos_output": 0.1}
        | {"cos_att": 0.3, "jsd_att": jsd, "jsd_att_se": se, "jsd_att_method": "sampled"}
        for jsd, se in ((0.10, 0.003), (0.20, 0.004))
    ]
    (s,) = summarise(rows)
    half = 1.959963984540054 * np.sqrt(0.003**2 + 0.004**2) / 2
    assert s["jsd_att_method"] == "sampled"
    assert s["jsd_att_ci_lo"] == pytest.approx(0.15 - half)
    assert s["jsd_att_ci_hi"] == pytest.approx(0.15 + half)
    rows[0] |= {"jsd_att_se": 0.0, "jsd_att_method": "exact"}
    (s,) = summarise(rows)
    assert s["jsd_att_method"] == "mixed"
    assert s["jsd_att_ci_hi"] - s["jsd_att_ci_lo"] == pytest.approx(
        2 * 1.959963984540054 * 0.004 / 2
    )


def test_hostile_folder_links_names_and_planted_outputs(tmp_path: Path, capsys):
    """A symlink out of the folder is skipped and named; a formula-like file name is neutralised in
    the CSV; a symlink planted at an output's name is replaced and its target left as it was."""
    d, out = tmp_path / "imgs", tmp_path / "out"
    _png(d / "a.png", 1)
    formula = "=cmd|' /C calc'!A0.png"  # the folder "=cmd|' " holding "C calc'!A0.png"
    _png(d / formula, 2)
    _png(tmp_path / "private" / "secret.png", 3)
    (d / "leak.png").symlink_to(tmp_path / "private" / "secret.png")
    out.mkdir()
    victim = tmp_path / "victim.csv"
    victim.write_text("owned by the test")
    (out / "per_image.csv").symlink_to(victim)

    code = main(
        [str(d), "--backbone", "test/nl2", "--out", str(out), "--workers", "0", "--no-progress"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"skipped {d / 'leak.png'}: " in captured.err
    assert "outside the input folder" in captured.err
    assert "1 unreadable file(s) skipped" in captured.out
    assert victim.read_text() == "owned by the test"
    assert not (out / "per_image.csv").is_symlink()
    images = {r["image"] for r in _read(out / "per_image.csv")}
    assert images == {"a.png", "'" + formula}
