"""Public timm ImageNet backbones, described (nothing is loaded at import).

Weights come from a local file, the Hugging Face Hub cache, or a download by timm when the hub
answers (see :mod:`viz.weights.hub`).
"""

from __future__ import annotations

from functools import partial

import torch

from viz.weights.hub import (
    IMAGENET_META,
    WEIGHTS_DIR_SETTING,
    cached_hf_file,
    hub_backbone,
    imagenet_classes,
    library_spec,
    load_local,
    local_weights_file,
    network_available,
)
from viz.weights.spec import Backbone, BackboneSpec, WeightsUnavailable
from viz.weights.transforms import split_transform

_SE_NOTE = "in every residual block, on the bottleneck width, after the last conv/norm"


# model -> metadata known without loading (accuracy: timm's published ImageNet top-1 at 256 px for
# the same-trunk ablations; None where no figure is recorded here)
TIMM_MODELS: dict[str, dict] = {
    "seresnet50": {
        "kinds": ["se"],
        "attention_points": "layer{1-4}.{i}.se: timm SEModule in all 16 bottlenecks, after bn3",
        "accuracy": None,
        "gradcam_layer": "layer4",
    },
    "ecaresnet50d": {
        "kinds": ["eca"],
        "attention_points": "layer{1-4}.{i}.se: timm EcaModule (named `se`) in all 16 bottlenecks",
        "accuracy": None,
        "gradcam_layer": "layer4",
    },
    "gcresnet50t": {
        "kinds": ["gc"],
        "attention_points": "stages.{0-3}.{i}.attn: timm GlobalContext in all 16 bottlenecks",
        "accuracy": None,
        "gradcam_layer": "stages.3",
    },
    "resnet33ts": {
        "kinds": [],
        "attention_points": "none: the same-trunk baseline of the *33ts ablation",
        "accuracy": 79.216,
        "gradcam_layer": "final_conv",
    },
    "seresnet33ts": {
        "kinds": ["se"],
        "attention_points": f"stages.{{0-3}}.{{i}}.attn: timm SEModule {_SE_NOTE}",
        "accuracy": 80.380,
        "gradcam_layer": "final_conv",
    },
    "eca_resnet33ts": {
        "kinds": ["eca"],
        "attention_points": f"stages.{{0-3}}.{{i}}.attn: timm EcaModule {_SE_NOTE}",
        "accuracy": 80.084,
        "gradcam_layer": "final_conv",
    },
    "gcresnet33ts": {
        "kinds": ["gc"],
        "attention_points": f"stages.{{0-3}}.{{i}}.attn: timm GlobalContext {_SE_NOTE}",
        "accuracy": 80.072,
        "gradcam_layer": "final_conv",
    },
}


def build_timm(model_name: str, device: torch.device | str = "cpu") -> Backbone:
    """A timm ImageNet model with its pretrained weights (see the module docstring for the order).

    Args:
        model_name: timm architecture name, e.g. ``"seresnet33ts"`` (default pretrained tag).
        device: where the caller will run it (the registry moves the model).

    Raises:
        WeightsUnavailable: no local file, nothing cached and no download possible.
    """
    import timm
    from timm.data import create_transform, resolve_data_config

    name = f"timm/{model_name}"
    cfg = timm.models.get_pretrained_cfg(model_name)
    hub_id = cfg.hf_hub_id if cfg is not None else None
    local = local_weights_file(model_name)
    try:
        if local is not None:
            model = timm.create_model(model_name, pretrained=False)
            load_local(model, local, name)
            source = f"local file {local}"
        elif hub_id and (cached := cached_hf_file(hub_id)) is not None:
            model = timm.create_model(
                model_name, pretrained=True, pretrained_cfg_overlay={"file": str(cached)}
            )
            source = f"timm, Hugging Face cache {cached}"
        elif hub_id and network_available("huggingface.co"):
            model = timm.create_model(model_name, pretrained=True)
            source = f"timm, downloaded from the Hugging Face Hub ({hub_id})"
        else:
            raise WeightsUnavailable(_timm_missing(model_name, hub_id))
    except WeightsUnavailable:
        raise
    except Exception as exc:  # timm / hub raise many kinds; all mean "no trained weights here"
        raise WeightsUnavailable(
            f"{_timm_missing(model_name, hub_id)} ({type(exc).__name__}: {exc})"
        ) from exc
    config = resolve_data_config({}, model=model)
    prepare, to_tensor = split_transform(create_transform(**config))
    meta = {"weights_source": source, "input_size": int(config["input_size"][-1])}
    return hub_backbone(name, model, prepare, to_tensor, meta, torch.device(device))


def timm_weights_present(model_name: str) -> bool:
    """A local file or the Hugging Face cache holds the weights (no network: a download may hang).

    Args:
        model_name: timm architecture name, e.g. ``"seresnet33ts"``.
    """
    import timm

    if local_weights_file(model_name) is not None:
        return True
    cfg = timm.models.get_pretrained_cfg(model_name)
    hub_id = cfg.hf_hub_id if cfg is not None else None
    return bool(hub_id) and cached_hf_file(hub_id) is not None


def _timm_geometry(model_name: str):
    """The geometric half of timm's eval transform for the model's pretrained config (what
    :func:`build_timm` resolves from the built model; the two agree for the registered models)."""
    import timm
    from timm.data import create_transform, resolve_data_config

    cfg = timm.models.get_pretrained_cfg(model_name)
    config = resolve_data_config(pretrained_cfg=cfg.to_dict())
    return split_transform(create_transform(**config))[0]


def _timm_missing(model_name: str, hub_id: str | None) -> str:
    return (
        f"timm/{model_name}: ImageNet weights are not cached here and the Hugging Face Hub cannot be "
        f"reached. On a machine with network run `hf download {hub_id} model.safetensors` and copy "
        "its Hugging Face cache folder here (HF_HUB_CACHE or HF_HOME name it; default "
        f"~/.cache/huggingface/hub), or save the file as {model_name}.safetensors in "
        f"{WEIGHTS_DIR_SETTING}."
    )


def specs() -> list[BackboneSpec]:
    """The timm backbones (metadata from timm's pretrained configs; nothing is downloaded)."""
    import timm

    specs = []
    for model_name, extra in TIMM_MODELS.items():
        cfg = timm.models.get_pretrained_cfg(model_name)
        meta = {
            **IMAGENET_META,
            "classes": imagenet_classes(),
            **extra,
            "source": f"timm {cfg.hf_hub_id} (Hugging Face Hub)",
            "licence": cfg.license or "see the model card",
            "input_size": int(cfg.input_size[-1]),
        }
        geometry = partial(_timm_geometry, model_name)
        specs.append(
            library_spec("timm", model_name, meta, build_timm, timm_weights_present, geometry)
        )
    return specs
