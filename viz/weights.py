"""Loading checkpoints as data: safetensors, or ``torch.load(weights_only=True)``; clear errors.

A checkpoint never runs code here: pickles are opened with ``weights_only=True``, so a file carrying
a payload is refused instead of executed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

__all__ = ["CheckpointError", "load_checkpoint", "sha256_of"]


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used; the message names the file and why."""


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
