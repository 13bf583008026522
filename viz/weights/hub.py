"""Where public weights come from: local files, the libraries' caches, a download when reachable.

Where weights come from, in order:

1. a local file the user provides: ``$VAE_WEIGHTS_DIR/<model>.safetensors`` (or ``.pth``; default
   directory ``~/.cache/visual-attention-explorer``), read as data by :mod:`viz.weights`;
2. the library's cache: timm -> the Hugging Face Hub cache (file ``model.safetensors`` of the
   model's hub repo, loaded by timm itself through ``pretrained_cfg_overlay=dict(file=...)``);
   torchvision -> ``torch.hub.get_dir()/checkpoints/<file of the weights URL>``;
3. a download by the library, only if the hub answers within a few seconds.

Otherwise :class:`~viz.errors.WeightsUnavailable` names the file to fetch, the command and the
setting of the folder to put it in (not the server's absolute path: the message reaches pupils) —
quickly (no long retries offline) and never with untrained weights.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from viz.capture import install_adapters
from viz.weights.checkpoints import CheckpointError, load_checkpoint, load_state_dict_checked
from viz.weights.spec import Backbone, BackboneSpec, WeightsUnavailable
from viz.weights.transforms import pipeline

# what every public ImageNet classifier shares
IMAGENET_META = {"dataset": "ImageNet-1k", "metric": "top-1", "task": "multiclass"}


# how messages name the user folder: by its setting, never by the server's absolute path (they
# reach pupils' browsers)
WEIGHTS_DIR_SETTING = (
    "the weights folder (VAE_WEIGHTS_DIR; default ~/.cache/visual-attention-explorer)"
)


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


@functools.lru_cache(maxsize=1)
def _imagenet_classes() -> tuple[str, ...]:
    from torchvision.models import ResNet50_Weights

    return tuple(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names, from torchvision's weights metadata (offline)."""
    return list(_imagenet_classes())


def hub_backbone(name, model, prepare, to_tensor, meta, device) -> Backbone:
    """A :class:`Backbone` of a library model, with adapter hooks installed once."""
    prepare_rgb, preprocess = pipeline(prepare, to_tensor)
    install_adapters(model)
    return Backbone(name, model, preprocess, meta, device, prepare=prepare_rgb)


def library_spec(
    library: str,
    model_name: str,
    meta: dict,
    build: Callable[..., Backbone],
    weights_present: Callable[[str], bool],
    geometry: Callable[[], Callable],
) -> BackboneSpec:
    """The registry entry of a library's ImageNet model: named ``"<library>/<model>"`` in the
    ``"pretrained"`` group, so every library's models read alike in the picker.

    Args:
        library: ``"timm"`` or ``"torchvision"``.
        model_name: the library's model name; ``build`` and ``weights_present`` take it.
        meta: metadata known without loading.
        geometry: ``() -> prepare`` (the source knows what to bind it to).
    """
    return BackboneSpec(
        f"{library}/{model_name}",
        "pretrained",
        f"{library} {model_name} (ImageNet)",
        functools.partial(build, model_name),
        meta,
        weights_present=functools.partial(weights_present, model_name),
        geometry=geometry,
    )


def load_local(model: nn.Module, path: Path, name: str) -> None:
    try:
        load_state_dict_checked(model, load_checkpoint(path), path)
    except CheckpointError as exc:
        raise WeightsUnavailable(
            f"{name}: the file {path.name} in {WEIGHTS_DIR_SETTING} cannot be used: {exc}"
        ) from exc
