"""Official checkpoint files a user downloads by hand (registry group ``"official"``), described.

:data:`OFFICIAL` lists each file: where it comes from, how :mod:`viz.weights.convert` renames its
keys, what it is. Nothing is read at import; a spec's ``build`` finds, converts and loads the file
strictly (a key left over or missing is an error naming the file, never a half-random network).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import nn

from viz.models.resnet_attention import attention_points, attention_resnet50
from viz.weights.checkpoints import CheckpointError, load_checkpoint, load_state_dict_checked
from viz.weights.convert import (
    convert_bam,
    convert_cbam,
    convert_eca,
    convert_mmdet_backbone,
    eca_model,
    mmdet_model,
)
from viz.weights.hub import imagenet_classes
from viz.weights.spec import Backbone, BackboneSpec, WeightsUnavailable
from viz.weights.transforms import imagenet_pipeline

_REPO_ROOT = Path(__file__).resolve().parents[3]


def official_dir() -> Path:
    """Where official files are looked for: ``$VAE_OFFICIAL_DIR`` or ``<repo>/weights/official``."""
    env = os.environ.get("VAE_OFFICIAL_DIR")
    return Path(env).expanduser() if env else _REPO_ROOT / "weights" / "official"


@dataclass(frozen=True)
class OfficialSpec:
    """One official checkpoint: where it comes from, how to convert it, what it is.

    Args:
        name: registry name (``"official/..."``).
        title: picker label.
        file_names: accepted file names; the first is the one to download.
        repo: the GitHub repository that links the file.
        convert: official state dict -> our keys.
        build: (official state, converted state) -> matching (untrained) architecture.
        meta: metadata shown without loading.
        patterns: globs also accepted in the official directory (mmdetection adds dates/hashes).
        where: how to obtain the file, when it is not one link in ``repo``.
    """

    name: str
    title: str
    file_names: tuple[str, ...]
    repo: str
    convert: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]
    build: Callable[[dict[str, torch.Tensor], dict[str, torch.Tensor]], nn.Module]
    meta: dict = field(default_factory=dict)
    patterns: tuple[str, ...] = ()
    where: str = ""


def find_official_file(spec: OfficialSpec, directory: Path | None = None) -> Path:
    """The official file of ``spec`` in ``directory`` (default :func:`official_dir`).

    Raises:
        WeightsUnavailable: naming the file, the repository to get it from and where to put it.
    """
    directory = directory or official_dir()
    for file_name in spec.file_names:
        if (directory / file_name).is_file():
            return directory / file_name
    for pattern in spec.patterns:
        found = sorted(directory.glob(pattern)) if directory.is_dir() else []
        if found:
            return found[0]
    where = spec.where or f"linked from github.com/{spec.repo}"
    # the folder by its setting, not its absolute path: this message reaches pupils' browsers
    folder = (
        "the folder VAE_OFFICIAL_DIR names"
        if os.environ.get("VAE_OFFICIAL_DIR")
        else "the project's weights/official/ folder (or set VAE_OFFICIAL_DIR to another folder)"
    )
    raise WeightsUnavailable(
        f"{spec.name} needs the official file {spec.file_names[0]} ({where}). Download it by hand "
        f"and put it in {folder}."
    )


def official_file_present(name: str) -> bool:
    """The official file of registry entry ``name`` is in :func:`official_dir` (not read).

    Args:
        name: e.g. ``"official/cbam_resnet50"``.
    """
    try:
        find_official_file(OFFICIAL[name])
    except WeightsUnavailable:
        return False
    return True


def _load_converted(spec: OfficialSpec, path: Path) -> nn.Module:
    raw = load_checkpoint(path)
    converted = spec.convert(raw)
    model = spec.build(raw, converted)
    for key, value in model.state_dict().items():  # files from PyTorch < 0.4 lack these counters
        if key.endswith("num_batches_tracked") and key not in converted:
            converted[key] = torch.zeros_like(value)
    return load_state_dict_checked(model, converted, path)


def build_official(name: str, path: str | Path | None = None) -> nn.Module:
    """Load the official checkpoint of registry entry ``name`` into our architecture.

    Args:
        name: e.g. ``"official/cbam_resnet50"``.
        path: explicit file; default: found by :func:`find_official_file`.

    Raises:
        WeightsUnavailable: file absent or unusable (message names the file and the problem).
    """
    spec = OFFICIAL[name]
    path = Path(path) if path is not None else find_official_file(spec)
    try:
        return _load_converted(spec, path)
    except CheckpointError as exc:
        raise WeightsUnavailable(f"{spec.name}: {exc}") from exc


def _geometry(name: str):
    """The official backbone's geometric step (what its build uses), without loading it."""
    size = OFFICIAL[name].meta["input_size"]
    return imagenet_pipeline(size, OFFICIAL[name].meta.get("resize", size))[0]


def _builder(name: str) -> Callable[[torch.device], Backbone]:
    def build(device: torch.device) -> Backbone:
        spec = OFFICIAL[name]
        model = build_official(name)
        size = spec.meta["input_size"]
        prepare, preprocess = imagenet_pipeline(size, spec.meta.get("resize", size))
        meta = {"attention_modules": attention_points(model)}
        return Backbone(name, model, preprocess, meta, device, prepare=prepare)

    return build


_CLASSIFIER = {
    "dataset": "ImageNet-1k",
    "metric": "top-1",
    "task": "multiclass",
    "input_size": 224,
    "resize": 256,
    "gradcam_layer": "layer4",
}


_DETECTION = {
    "dataset": "COCO (Mask R-CNN backbone)",
    "metric": None,
    "accuracy": None,
    "task": "features",
    "classes": None,
    "input_size": 448,
    "resize": 448,
    "gradcam_layer": "layer4",
    "licence": "Apache-2.0 (mmdetection)",
    "output": "global average of layer4 (B, 2048): the detector's neck and heads are not loaded",
}


OFFICIAL: dict[str, OfficialSpec] = {}


def _add(spec: OfficialSpec) -> None:
    OFFICIAL[spec.name] = spec


_add(
    OfficialSpec(
        name="official/cbam_resnet50",
        title="CBAM ResNet-50 (official, ImageNet)",
        file_names=("RESNET50_CBAM_new_name_wrap.pth",),
        repo="Jongchan/attention-module",
        convert=convert_cbam,
        build=lambda raw, state: attention_resnet50("cbam"),
        meta={
            **_CLASSIFIER,
            "kinds": ["cbam"],
            "attention_points": "layer{1-4}.{i}.cbam: every bottleneck, after bn3, before the add",
            "accuracy": 77.622,
            "source": "github.com/Jongchan/attention-module (official file, converted)",
            "licence": "MIT (repository)",
        },
    )
)


_add(
    OfficialSpec(
        name="official/bam_resnet50",
        title="BAM ResNet-50 (official, ImageNet)",
        file_names=("RESNET50_IMAGENET_BAM_best.pth.tar",),
        repo="Jongchan/attention-module",
        convert=convert_bam,
        build=lambda raw, state: attention_resnet50("bam", bam_combine="product"),
        meta={
            **_CLASSIFIER,
            "kinds": ["bam"],
            "attention_points": "bam1, bam2, bam3: after layer1, layer2, layer3",
            "bam_combine": "product (official code; the paper sums): gate = sigma(channel * spatial)",
            "accuracy": 76.86,
            "source": "github.com/Jongchan/attention-module (official file, converted)",
            "licence": "MIT (repository)",
        },
    )
)


_add(
    OfficialSpec(
        name="official/eca_resnet50",
        title="ECA ResNet-50 (official, ImageNet)",
        file_names=("eca_resnet50_k3557.pth.tar",),
        repo="BangguWu/ECANet",
        convert=convert_eca,
        build=eca_model,
        meta={
            **_CLASSIFIER,
            "kinds": ["eca"],
            "attention_points": "layer{1-4}.{i}.eca: every bottleneck, k = 3/5/5/7 per stage",
            "accuracy": 77.42,
            "source": "github.com/BangguWu/ECANet (official file, converted)",
            "licence": "MIT (repository)",
        },
    )
)


_add(
    OfficialSpec(
        name="official/gc_resnet50_mask_rcnn",
        title="GC ResNet-50 backbone (mmdetection Mask R-CNN, COCO)",
        file_names=(
            "mask_rcnn_r50_fpn_r16_gcb_c3-c5_1x_coco_20200515_211915-187da160.pth",
            "mask_rcnn_r50_fpn_syncbn-backbone_r16_gcb_c3-c5_1x_coco_20200202-587b99aa.pth",
        ),
        patterns=("mask_rcnn_r50_fpn*gcb_c3-c5*.pth",),
        repo="open-mmlab/mmdetection",
        where="linked from github.com/open-mmlab/mmdetection configs/gcnet/README.md",
        convert=convert_mmdet_backbone,
        build=mmdet_model,
        meta={
            **_DETECTION,
            "kinds": ["gc"],
            "attention_points": "layer{2-4}.{i}.gc: every bottleneck of c3-c5, after bn3",
            "source": "open-mmlab/mmdetection GCNet model zoo (backbone only, converted)",
        },
    )
)


_add(
    OfficialSpec(
        name="official/nl_resnet50_mask_rcnn",
        title="Non-local ResNet-50 backbone (mmdetection-style Mask R-CNN, COCO)",
        file_names=("mask_rcnn_r50_fpn_nonlocal.pth",),
        patterns=("*nonlocal*.pth", "*_nl_*.pth"),
        repo="open-mmlab/mmdetection",
        where="no public link: any mmdetection Mask R-CNN checkpoint whose ResNet-50 backbone "
        "carries one mmcv NonLocal2d block named nonlocal_block after layer3.4",
        convert=convert_mmdet_backbone,
        build=mmdet_model,
        meta={
            **_DETECTION,
            "kinds": ["nl_embedded_gaussian"],
            "attention_points": "layer3.4.nonlocal_block: before the last residual block of res4",
            "source": "a detector saved with mmcv NonLocal2d key names (backbone only, converted)",
        },
    )
)


def specs() -> list[BackboneSpec]:
    """Every :data:`OFFICIAL` entry as a registry spec (group ``"official"``)."""
    out = []
    for spec in OFFICIAL.values():
        meta = dict(spec.meta)
        if meta.get("task") == "multiclass":
            meta["classes"] = imagenet_classes()
        meta["file"] = spec.file_names[0]
        present = partial(official_file_present, spec.name)
        out.append(
            BackboneSpec(
                spec.name,
                "official",
                spec.title,
                _builder(spec.name),
                meta,
                weights_present=present,
                geometry=partial(_geometry, spec.name),
            )
        )
    return out
