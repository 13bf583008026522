"""Public torchvision ImageNet backbones, described through the weights enums (nothing is loaded at
import); weights from a local file, torchvision's cache, or its download.
"""

from __future__ import annotations

from functools import partial

import torch

from viz.capture import install_adapters
from viz.weights.checkpoints import load_state_dict_checked
from viz.weights.hub import (
    IMAGENET_META,
    WEIGHTS_DIR_SETTING,
    library_spec,
    load_local,
    local_weights_file,
    network_available,
    torchvision_cache_file,
)
from viz.weights.spec import Backbone, BackboneSpec, WeightsUnavailable
from viz.weights.transforms import imagenet_pipeline

# model -> (weights enum member, metadata); accuracy is read from the enum's own meta
TORCHVISION_MODELS: dict[str, tuple[str, dict]] = {
    "mobilenet_v3_large": (
        "MobileNet_V3_Large_Weights.IMAGENET1K_V2",
        {
            "kinds": ["se"],
            "attention_points": "features.{i}.block.2: torchvision SqueezeExcitation "
            "(Hardsigmoid gate) in 8 inverted-residual blocks",
            "gradcam_layer": "features.16",
        },
    ),
    "efficientnet_b0": (
        "EfficientNet_B0_Weights.IMAGENET1K_V1",
        {
            "kinds": ["se"],
            "attention_points": "features.{s}.{i}.block.{j}: torchvision SqueezeExcitation "
            "(sigmoid gate) in all 16 MBConv blocks",
            "gradcam_layer": "features.8",
        },
    ),
    "regnet_y_400mf": (
        "RegNet_Y_400MF_Weights.IMAGENET1K_V2",
        {
            "kinds": ["se"],
            "attention_points": "trunk_output.block{s}.block{s}-{i}.f.se: torchvision "
            "SqueezeExcitation (sigmoid gate) in all 16 Y-blocks",
            "gradcam_layer": "trunk_output.block4",
        },
    ),
}


def build_torchvision(model_name: str, device: torch.device | str = "cpu") -> Backbone:
    """A torchvision ImageNet model with its weights enum's state dict (read with weights_only).

    Args:
        model_name: e.g. ``"mobilenet_v3_large"`` (one of :data:`TORCHVISION_MODELS`).
        device: where the caller will run it.

    Raises:
        WeightsUnavailable: no local file, nothing cached and download.pytorch.org unreachable.
    """
    import torchvision

    name = f"torchvision/{model_name}"
    weights = torchvision.models.get_weight(TORCHVISION_MODELS[model_name][0])
    model = torchvision.models.get_model(model_name, weights=None)
    local = local_weights_file(model_name)
    cache_file = torchvision_cache_file(weights.url)
    if local is not None:
        load_local(model, local, name)
        source = f"local file {local}"
    elif cache_file.is_file() or network_available("download.pytorch.org"):
        try:
            state = weights.get_state_dict(progress=False, weights_only=True)
            load_state_dict_checked(model, state, cache_file)
        except Exception as exc:  # download / unpickling / mismatch: no trained weights here
            raise WeightsUnavailable(
                f"{_torchvision_missing(model_name, weights)} ({type(exc).__name__}: {exc})"
            ) from exc
        source = f"torchvision {weights}, cache {cache_file}"
    else:
        raise WeightsUnavailable(_torchvision_missing(model_name, weights))
    prepare, preprocess = _preset_pipeline(weights)
    install_adapters(model)
    meta = {"weights_source": source}
    return Backbone(name, model, preprocess, meta, torch.device(device), prepare=prepare)


def torchvision_weights_present(model_name: str) -> bool:
    """A local file or torchvision's cache holds the weights (no network: a download may hang).

    Args:
        model_name: one of :data:`TORCHVISION_MODELS`.
    """
    import torchvision

    if local_weights_file(model_name) is not None:
        return True
    weights = torchvision.models.get_weight(TORCHVISION_MODELS[model_name][0])
    return torchvision_cache_file(weights.url).is_file()


def _preset_pipeline(weights):
    """The weights' own ImageClassification preset, on transforms.v2: (geometry, preprocess)."""
    preset = weights.transforms()
    return imagenet_pipeline(
        preset.crop_size[0], preset.resize_size[0], preset.interpolation, preset.mean, preset.std
    )


def _preset_geometry(enum_name: str):
    import torchvision

    return _preset_pipeline(torchvision.models.get_weight(enum_name))[0]


def _torchvision_missing(model_name: str, weights) -> str:
    file_name = weights.url.rsplit("/", 1)[-1]
    return (
        f"torchvision/{model_name}: ImageNet weights {weights} are not cached here and "
        f"download.pytorch.org cannot be reached. Fetch {weights.url} and put {file_name} in "
        "torchvision's cache (the checkpoints/ folder in torch.hub's folder: TORCH_HOME/hub, "
        f"default ~/.cache/torch/hub), or save it as {model_name}.pth in {WEIGHTS_DIR_SETTING}."
    )


def specs() -> list[BackboneSpec]:
    """The torchvision backbones (metadata from the weights enums; nothing is downloaded)."""
    import torchvision

    specs = []
    for model_name, (enum_name, extra) in TORCHVISION_MODELS.items():
        weights = torchvision.models.get_weight(enum_name)
        meta = {
            **IMAGENET_META,
            **extra,
            "accuracy": weights.meta["_metrics"]["ImageNet-1K"]["acc@1"],
            "classes": list(weights.meta["categories"]),
            "source": f"torchvision {enum_name} ({weights.meta.get('recipe', '')})",
            "licence": "BSD-3-Clause (torchvision)",
            "input_size": int(weights.transforms().crop_size[0]),
        }
        present = torchvision_weights_present
        geometry = partial(_preset_geometry, enum_name)
        specs.append(
            library_spec("torchvision", model_name, meta, build_torchvision, present, geometry)
        )
    return specs
