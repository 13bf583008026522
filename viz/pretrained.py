"""Public ImageNet backbones through timm's and torchvision's own pretrained mechanisms and caches.

Where weights come from, in order:

1. a local file the user provides: ``$VAE_WEIGHTS_DIR/<model>.safetensors`` (or ``.pth``; default
   directory ``~/.cache/visual-attention-explorer``), read as data by :mod:`viz.weights`;
2. the library's cache: timm -> the Hugging Face Hub cache (file ``model.safetensors`` of the
   model's hub repo, loaded by timm itself through ``pretrained_cfg_overlay=dict(file=...)``);
   torchvision -> ``torch.hub.get_dir()/checkpoints/<file of the weights URL>``;
3. a download by the library, only if the hub answers within a few seconds.

Otherwise :class:`~viz.backbones.WeightsUnavailable` names the file to fetch, the command and the
folder to put it in — quickly (no long retries offline) and never with untrained weights.
Importing this module also registers the official-checkpoint converters (:mod:`viz.converters`).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from viz.backbones import Backbone, BackboneSpec, WeightsUnavailable, register
from viz.capture import install_adapters
from viz.weights import CheckpointError, load_checkpoint, load_state_dict_checked

__all__ = [
    "TIMM_MODELS",
    "TORCHVISION_MODELS",
    "build_timm",
    "build_torchvision",
    "cached_hf_file",
    "hf_cache_dir",
    "imagenet_classes",
    "local_weights_file",
    "network_available",
    "split_transform",
    "torchvision_cache_file",
    "weights_dir",
]

_SE_NOTE = "in every residual block, on the bottleneck width, after the last conv/norm"

# model -> metadata known without loading (accuracy from REFERENCE.md where it lists one)
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


def weights_dir() -> Path:
    """User-provided weights: ``$VAE_WEIGHTS_DIR`` or ``~/.cache/visual-attention-explorer``."""
    env = os.environ.get("VAE_WEIGHTS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "visual-attention-explorer"


def local_weights_file(model_name: str) -> Path | None:
    """``<weights_dir>/<model_name>.safetensors`` (preferred) or ``.pth``, if present.

    Args:
        model_name: library model name, e.g. ``"seresnet33ts"``.
    """
    for suffix in (".safetensors", ".pth"):
        path = weights_dir() / f"{model_name}{suffix}"
        if path.is_file():
            return path
    return None


def hf_cache_dir() -> Path:
    """The Hugging Face Hub cache, honouring ``HF_HUB_CACHE`` / ``HF_HOME`` set after import."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_hf_file(repo_id: str) -> Path | None:
    """The cached weights file of a hub repo (``model.safetensors`` or ``pytorch_model.bin``).

    Args:
        repo_id: e.g. ``"timm/seresnet33ts.ra2_in1k"``.
    """
    from huggingface_hub import try_to_load_from_cache

    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo_id, filename, cache_dir=str(hf_cache_dir()))
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def torchvision_cache_file(url: str) -> Path:
    """Where torchvision's ``load_state_dict_from_url`` keeps the file of ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


_NET_CACHE: dict[str, tuple[float, bool]] = {}


def network_available(host: str, timeout: float = 3.0) -> bool:
    """Whether ``host:443`` accepts a TCP connection within ``timeout`` s (cached for a minute).

    ``VAE_OFFLINE=1`` or ``HF_HUB_OFFLINE=1`` answer False without trying, so a download attempt
    never stalls an offline machine.
    """
    if os.environ.get("VAE_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    now = time.monotonic()
    cached = _NET_CACHE.get(host)
    if cached is not None and now - cached[0] < 60:
        return cached[1]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        ok = True
    except OSError:
        ok = False
    _NET_CACHE[host] = (now, ok)
    return ok


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names, from torchvision's weights metadata (offline)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def split_transform(transform) -> tuple[Callable, Callable]:
    """Split a ``Compose`` at its to-tensor step: (PIL geometry, PIL -> normalised tensor).

    The first part is what ``Backbone.prepare`` shows, so overlays sit on the pixels the model saw.

    Args:
        transform: a torchvision ``Compose`` as timm's ``create_transform`` returns.
    """
    from torchvision import transforms as T

    steps = list(transform.transforms)
    cut = next(
        (
            i
            for i, t in enumerate(steps)
            if "ToTensor" in type(t).__name__ or "PILToTensor" in type(t).__name__
        ),
        None,
    )
    if cut is None:
        raise ValueError(f"no to-tensor step in {transform}")
    return T.Compose(steps[:cut]), T.Compose(steps[cut:])


def _backbone(name, model, prepare, to_tensor, meta, device) -> Backbone:
    def prepare_rgb(image):
        return prepare(image.convert("RGB"))

    def preprocess(image):
        return to_tensor(prepare_rgb(image)).unsqueeze(0)

    install_adapters(model)
    return Backbone(name, model, preprocess, meta, device, prepare=prepare_rgb)


def _load_local(model: nn.Module, path: Path, name: str) -> None:
    try:
        load_state_dict_checked(model, load_checkpoint(path), path)
    except CheckpointError as exc:
        raise WeightsUnavailable(f"{name}: the local file {path} cannot be used: {exc}") from exc


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
            _load_local(model, local, name)
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
    meta = {"weights_source": source, "input_size": tuple(config["input_size"])}
    return _backbone(name, model, prepare, to_tensor, meta, torch.device(device))


def _timm_missing(model_name: str, hub_id: str | None) -> str:
    local = weights_dir() / f"{model_name}.safetensors"
    return (
        f"timm/{model_name}: ImageNet weights are not cached here and the Hugging Face Hub cannot be "
        f"reached. On a machine with network run `hf download {hub_id} model.safetensors` "
        f"(Hugging Face cache: {hf_cache_dir()}; copy that cache folder here), or save the file as "
        f"{local}."
    )


def build_torchvision(model_name: str, device: torch.device | str = "cpu") -> Backbone:
    """A torchvision ImageNet model with its weights enum's state dict (read with weights_only).

    Args:
        model_name: e.g. ``"mobilenet_v3_large"`` (one of :data:`TORCHVISION_MODELS`).
        device: where the caller will run it.

    Raises:
        WeightsUnavailable: no local file, nothing cached and download.pytorch.org unreachable.
    """
    import torchvision
    import torchvision.transforms.functional as F

    name = f"torchvision/{model_name}"
    weights = torchvision.models.get_weight(TORCHVISION_MODELS[model_name][0])
    model = torchvision.models.get_model(model_name, weights=None)
    local = local_weights_file(model_name)
    cache_file = torchvision_cache_file(weights.url)
    if local is not None:
        _load_local(model, local, name)
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
    transform = weights.transforms()

    def prepare(image):
        image = F.resize(
            image, transform.resize_size, interpolation=transform.interpolation, antialias=True
        )
        return F.center_crop(image, transform.crop_size)

    def to_tensor(image):
        tensor = F.convert_image_dtype(F.pil_to_tensor(image), torch.float)
        return F.normalize(tensor, mean=transform.mean, std=transform.std)

    meta = {"weights_source": source}
    return _backbone(name, model, prepare, to_tensor, meta, torch.device(device))


def _torchvision_missing(model_name: str, weights) -> str:
    file_name = weights.url.rsplit("/", 1)[-1]
    return (
        f"torchvision/{model_name}: ImageNet weights {weights} are not cached here and "
        f"download.pytorch.org cannot be reached. Fetch {weights.url} and put {file_name} in "
        f"{torchvision_cache_file(weights.url).parent} (torchvision's cache), or save it as "
        f"{weights_dir() / (model_name + '.pth')}."
    )


def _register() -> None:
    import torchvision

    classes = imagenet_classes()
    common = {
        "dataset": "ImageNet-1k",
        "metric": "top-1",
        "classes": classes,
        "task": "multiclass",
    }
    import timm

    for model_name, extra in TIMM_MODELS.items():
        cfg = timm.models.get_pretrained_cfg(model_name)
        meta = {
            **common,
            **extra,
            "source": f"timm {cfg.hf_hub_id} (Hugging Face Hub)",
            "licence": cfg.license or "see the model card",
            "input_size": tuple(cfg.input_size),
        }
        register(
            BackboneSpec(
                f"timm/{model_name}",
                "pretrained",
                f"timm {model_name} (ImageNet)",
                lambda device, m=model_name: build_timm(m, device),
                meta,
            )
        )
    for model_name, (enum_name, extra) in TORCHVISION_MODELS.items():
        weights = torchvision.models.get_weight(enum_name)
        crop = weights.transforms().crop_size[0]
        meta = {
            **common,
            **extra,
            "accuracy": weights.meta["_metrics"]["ImageNet-1K"]["acc@1"],
            "classes": list(weights.meta["categories"]),
            "source": f"torchvision {enum_name} ({weights.meta.get('recipe', '')})",
            "licence": "BSD-3-Clause (torchvision)",
            "input_size": (3, crop, crop),
        }
        register(
            BackboneSpec(
                f"torchvision/{model_name}",
                "pretrained",
                f"torchvision {model_name} (ImageNet)",
                lambda device, m=model_name: build_torchvision(m, device),
                meta,
            )
        )
    from viz.converters import register_official

    register_official()


_register()
