"""Loading checkpoints as data: safetensors, or ``torch.load(weights_only=True)``; clear errors.

A checkpoint never runs code here: pickles are opened with ``weights_only=True``, so a file carrying
a payload is refused instead of executed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch

from viz.errors import CheckpointError

__all__ = [
    "CheckpointError",
    "check_state_dict",
    "load_checkpoint",
    "load_state_dict_checked",
    "sha256_of",
]


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a torch pickle (``weights_only=True``).

    Nested ``{"state_dict": ...}`` / ``{"model": ...}`` wrappers of official files are unwrapped.

    Raises:
        CheckpointError: missing, truncated, not a checkpoint, or carrying code.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # safetensors/pickle raise many types; all mean "unusable file"
        raise CheckpointError(f"cannot read checkpoint {path.name}: {exc}") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path.name} does not hold a state dict of tensors")
    return obj


def check_state_dict(
    expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], source: str | Path
) -> None:
    """Refuse a state dict that does not fit a model exactly, naming the file and the keys.

    A partial load would leave some layers at random init and present them as trained, so every
    missing, unexpected or mis-shaped key is an error.

    Args:
        expected: the model's ``state_dict()`` (names and shapes are used).
        state: the tensors read from ``source``.
        source: file name (or description) for the message.

    Raises:
        CheckpointError: listing up to five keys of each problem.
    """
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
        if keys:
            more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
            problems.append(f"{label} {len(keys)}: {', '.join(keys[:5])}{more}")
    if problems:
        name = Path(source).name if isinstance(source, Path) else str(source)
        raise CheckpointError(f"{name} does not match the model — " + "; ".join(problems))


def load_state_dict_checked(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str | Path
) -> torch.nn.Module:
    """``model.load_state_dict(state)`` after :func:`check_state_dict`; returns ``model``.

    Args:
        model: the network to fill.
        state: tensors keyed like ``model.state_dict()``.
        source: file name for error messages.
    """
    check_state_dict(model.state_dict(), state, source)
    model.load_state_dict(dict(state), strict=True)
    return model
