"""Converters for official checkpoint files that a user downloads by hand (registry group "official").

Each converter renames the official keys to :func:`viz.resnet_attention.attention_resnet50`'s and
infers the options the file fixes (ECA kernel sizes, GC ratio, Non-local form) from tensor shapes,
then loads strictly: a key left over or missing is an error naming the file, never a half-random
network.

Renames (official -> ours), after stripping the ``module.`` (DataParallel) or ``backbone.``
(mmdetection) prefix:

* CBAM (Jongchan/attention-module): ``layerX.Y.cbam.ChannelGate.mlp.1|3`` (Linear) ->
  ``cbam.fc1|fc2`` (1x1 conv, weight reshaped); ``cbam.SpatialGate.spatial.conv|bn`` ->
  ``cbam.spatial_conv|spatial_bn``. The official spatial pool is max then mean, as ours: no swap.
* BAM (same repo): ``bamN.channel_att.gate_c.gate_c_fc_0|gate_c_bn_1|gate_c_fc_final`` ->
  ``bamN.channel_fc1|channel_bn|channel_fc2``; ``bamN.spatial_att.gate_s.gate_s_conv_reduce0,
  gate_s_bn_reduce0, gate_s_conv_di_j, gate_s_bn_di_j, gate_s_conv_final`` -> ``bamN.spatial.i``.
  The official forward multiplies the branches (the paper adds them): the converted model uses
  :class:`~viz.resnet_attention.ProductBAM` so its predictions are the checkpoint's.
* ECA (BangguWu/ECANet): ``layerX.Y.eca.conv.weight`` unchanged; k per stage read from the shapes.
* GC (mmdetection): ``layerX.Y.context_block.conv_mask`` -> ``gc.conv_mask``;
  ``context_block.channel_add_conv.{0,1,3}`` -> ``gc.transform.{0,1,3}``; ratio from the shapes.
* Non-local (mmcv ``NonLocal2d`` as an mmdetection backbone block): ``nonlocal_block.{g,theta,phi}
  .conv`` (or ``.0.conv`` when sub-sampled) -> ``nonlocal_block.{g,theta,phi}``; ``conv_out.conv``
  -> ``W_z``; ``conv_out.bn`` -> ``bn`` (a file without that norm gets an identity ``bn``);
  ``concat_project.conv`` -> ``concat_project``. Placement: after ``layer3.4`` (right before the last
  residual block of res4). mmcv scales the embedded-Gaussian logits by 1/sqrt(C/2); a file cannot
  tell dot product from embedded Gaussian (same tensors), so embedded Gaussian, mmcv's default, is
  assumed. mmdetection's model zoo has no such file; this reads any backbone saved with these names.

Detection files carry neck and heads too; only ``backbone.*`` is used. Their models have no
classifier: output = pooled ``layer4`` features (meta ``task = "features"``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from viz.backbones import Backbone, BackboneSpec, WeightsUnavailable, register
from viz.resnet_attention import attention_points, attention_resnet50
from viz.weights import CheckpointError, load_checkpoint, load_state_dict_checked

__all__ = [
    "OFFICIAL",
    "OfficialSpec",
    "build_official",
    "convert_bam",
    "convert_cbam",
    "convert_eca",
    "convert_mmdet_backbone",
    "find_official_file",
    "official_dir",
    "register_official",
    "strip_prefix",
]

_REPO_ROOT = Path(__file__).resolve().parents[1]


def official_dir() -> Path:
    """Where official files are looked for: ``$VAE_OFFICIAL_DIR`` or ``<repo>/weights/official``."""
    env = os.environ.get("VAE_OFFICIAL_DIR")
    return Path(env).expanduser() if env else _REPO_ROOT / "weights" / "official"


def strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Keep the keys starting with ``prefix``, without it (all keys, unchanged, if none do).

    Args:
        state: a state dict.
        prefix: e.g. ``"module."`` or ``"backbone."``.
    """
    if not any(k.startswith(prefix) for k in state):
        return dict(state)
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _rename(
    state: dict[str, torch.Tensor], rules: list[tuple[str, str]]
) -> dict[str, torch.Tensor]:
    """Apply the first matching regex rule to each key."""
    out = {}
    for key, value in state.items():
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, key)
            if n:
                key = new
                break
        out[key] = value
    return out


def convert_cbam(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official CBAM ResNet-50 keys -> ``attention_resnet50("cbam")`` keys.

    Args:
        state: the file's state dict (``module.`` prefix optional).
    """
    state = _rename(
        strip_prefix(state, "module."),
        [
            (r"\.cbam\.ChannelGate\.mlp\.1\.", ".cbam.fc1."),
            (r"\.cbam\.ChannelGate\.mlp\.3\.", ".cbam.fc2."),
            (r"\.cbam\.SpatialGate\.spatial\.conv\.", ".cbam.spatial_conv."),
            (r"\.cbam\.SpatialGate\.spatial\.bn\.", ".cbam.spatial_bn."),
        ],
    )
    for key, value in state.items():  # Linear (out, in) -> 1x1 conv (out, in, 1, 1)
        if re.search(r"\.cbam\.fc[12]\.weight$", key) and value.dim() == 2:
            state[key] = value[:, :, None, None]
    return state


def _bam_spatial_rule(match: re.Match) -> str:
    prefix, part, index = match.group(1), match.group(2), match.group(3)
    position = {"conv_reduce": 0, "bn_reduce": 1}.get(part)
    if part == "conv_di":
        position = 3 + 3 * int(index)
    elif part == "bn_di":
        position = 4 + 3 * int(index)
    return f"{prefix}.spatial.{position}."


def convert_bam(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official BAM ResNet-50 keys -> ``attention_resnet50("bam")`` keys.

    Args:
        state: the file's state dict (``module.`` prefix optional).
    """
    state = strip_prefix(state, "module.")
    n_di = {}
    for key in state:
        m = re.match(r"(bam\d)\.spatial_att\.gate_s\.gate_s_conv_di_(\d+)\.", key)
        if m:
            n_di[m.group(1)] = max(n_di.get(m.group(1), 0), int(m.group(2)) + 1)
    out = {}
    for key, value in state.items():
        new = re.sub(r"^(bam\d)\.channel_att\.gate_c\.gate_c_fc_0\.", r"\1.channel_fc1.", key)
        new = re.sub(r"^(bam\d)\.channel_att\.gate_c\.gate_c_bn_1\.", r"\1.channel_bn.", new)
        new = re.sub(r"^(bam\d)\.channel_att\.gate_c\.gate_c_fc_final\.", r"\1.channel_fc2.", new)
        final = re.match(r"^(bam\d)\.spatial_att\.gate_s\.gate_s_conv_final\.", new)
        if final:
            position = 3 + 3 * n_di.get(final.group(1), 0)
            new = f"{final.group(1)}.spatial.{position}." + new[final.end() :]
        else:
            new = re.sub(
                r"^(bam\d)\.spatial_att\.gate_s\.gate_s_(conv_reduce|bn_reduce|conv_di|bn_di)_?(\d+)\.",
                _bam_spatial_rule,
                new,
            )
        out[new] = value
    return out


def convert_eca(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official ECA-ResNet-50 keys -> ``attention_resnet50("eca")`` keys (only the prefix differs).

    Args:
        state: the file's state dict (``module.`` prefix optional).
    """
    return strip_prefix(state, "module.")


def convert_mmdet_backbone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """mmdetection ResNet-50 backbone (GC and/or Non-local blocks) -> ``attention_resnet50`` keys.

    Only ``backbone.*`` is kept (neck and heads are dropped).

    Args:
        state: the detector's state dict.
    """
    state = strip_prefix(state, "backbone.")
    state = _rename(
        state,
        [
            (r"\.context_block\.conv_mask\.", ".gc.conv_mask."),
            (r"\.context_block\.channel_add_conv\.(\d)\.", r".gc.transform.\1."),
            (r"\.nonlocal_block\.(g|theta|phi)\.(?:0\.)?conv\.", r".nonlocal_block.\1."),
            (r"\.nonlocal_block\.conv_out\.conv\.", ".nonlocal_block.W_z."),
            (r"\.nonlocal_block\.conv_out\.bn\.", ".nonlocal_block.bn."),
            (r"\.nonlocal_block\.concat_project\.conv\.", ".nonlocal_block.concat_project."),
        ],
    )
    for key in [k for k in state if k.endswith(".nonlocal_block.W_z.weight")]:
        bias = key[: -len("weight")] + "bias"
        if bias not in state:  # mmcv drops conv_out's bias when a norm follows: zero is exact
            state[bias] = torch.zeros(state[key].shape[0], dtype=state[key].dtype)
    return state


# --- building the matching architecture from a converted state -----------------------------------


def _eca_model(raw: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> nn.Module:
    kernels = []
    for s in (1, 2, 3, 4):
        w = state.get(f"layer{s}.0.eca.conv.weight")
        if w is None:
            raise CheckpointError(
                f"no ECA weight for layer{s} (expected layer{s}.0.eca.conv.weight)"
            )
        kernels.append(int(w.shape[-1]))
    return attention_resnet50("eca", eca_kernels=tuple(kernels))


def _mmdet_model(raw: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> nn.Module:
    gc_stages = sorted(
        {int(m.group(1)) for k in state if (m := re.match(r"layer(\d)\.\d+\.gc\.conv_mask\.", k))}
    )
    kind = "gc" if gc_stages else None
    ratio = 1 / 16
    if gc_stages:
        hidden, channels = state[f"layer{gc_stages[0]}.0.gc.transform.0.weight"].shape[:2]
        ratio = hidden / channels
    nl_blocks = sorted({k.split(".nonlocal_block.")[0] for k in state if ".nonlocal_block." in k})
    if len(nl_blocks) > 1:
        raise CheckpointError(f"more than one Non-local block ({nl_blocks}); expected one")
    nl_after = nl_blocks[0] if nl_blocks else None
    nl_options = None
    if nl_after is not None:
        p = f"{nl_after}.nonlocal_block."
        if f"{p}concat_project.weight" in state:
            form = "nl_concatenation"
        elif f"{p}theta.weight" not in state:
            form = "nl_gaussian"
        else:
            form = "nl_embedded_gaussian"
        nl_options = {
            "kind": form,
            "inter_channels": int(state[f"{p}g.weight"].shape[0]),
            "scale": "sqrt_inter",
        }
    model = attention_resnet50(
        kind,
        stages=tuple(gc_stages) or None,
        gc_ratio=ratio,
        nonlocal_after=nl_after,
        nonlocal_options=nl_options,
        features_only=True,
    )
    if nl_after is not None:
        block = model.get_submodule(f"{nl_after}.nonlocal_block")
        block.sub_sample = any(re.search(r"\.nonlocal_block\.g\.0\.conv\.", k) for k in raw)
        if f"{nl_after}.nonlocal_block.bn.weight" not in state:
            block.bn = nn.Identity()  # conv_out without norm: W_z's bias is the whole output
    return model


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
    raise WeightsUnavailable(
        f"{spec.name} needs the official file {spec.file_names[0]} ({where}). Download it by hand "
        f"and put it in {directory} (or point VAE_OFFICIAL_DIR at its folder)."
    )


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


def _imagenet_classes() -> list[str]:
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def _transforms(size: int, resize: int):
    from torchvision import transforms as T

    prepare = T.Compose([T.Resize(resize), T.CenterCrop(size)])
    tensor = T.Compose(
        [T.ToTensor(), T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])]
    )
    return prepare, tensor


def _builder(name: str) -> Callable[[torch.device], Backbone]:
    def build(device: torch.device) -> Backbone:
        spec = OFFICIAL[name]
        model = build_official(name)
        size = spec.meta["input_size"][-1]
        prepare, tensor = _transforms(size, spec.meta.get("resize", size))

        def prepare_rgb(image):
            return prepare(image.convert("RGB"))

        def preprocess(image):
            return tensor(prepare_rgb(image)).unsqueeze(0)

        meta = {"attention_modules": attention_points(model)}
        return Backbone(name, model, preprocess, meta, device, prepare=prepare_rgb)

    return build


_CLASSIFIER = {
    "dataset": "ImageNet-1k",
    "metric": "top-1",
    "task": "multiclass",
    "input_size": (3, 224, 224),
    "resize": 256,
    "gradcam_layer": "layer4",
}
_DETECTION = {
    "dataset": "COCO (Mask R-CNN backbone)",
    "metric": None,
    "accuracy": None,
    "task": "features",
    "classes": None,
    "input_size": (3, 448, 448),
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
        build=_eca_model,
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
        build=_mmdet_model,
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
        build=_mmdet_model,
        meta={
            **_DETECTION,
            "kinds": ["nl_embedded_gaussian"],
            "attention_points": "layer3.4.nonlocal_block: before the last residual block of res4",
            "source": "a detector saved with mmcv NonLocal2d key names (backbone only, converted)",
        },
    )
)


def register_official() -> None:
    """Register every :data:`OFFICIAL` entry in :mod:`viz.backbones` (group ``"official"``)."""
    classes = _imagenet_classes()
    for spec in OFFICIAL.values():
        meta = dict(spec.meta)
        if meta.get("task") == "multiclass":
            meta["classes"] = classes
        meta["file"] = spec.file_names[0]
        register(BackboneSpec(spec.name, "official", spec.title, _builder(spec.name), meta))
